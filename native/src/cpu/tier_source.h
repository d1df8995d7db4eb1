// Attention over a DRAM–flash tiered head (kvprism.h kvp_kv_layout.cold_lengths): two dense
// sources, the cold rows in the file mapping and the hot rows in DRAM, behind one source, so
// pass 1 runs one online softmax over both. A block that straddles the boundary is cut in
// two runs (at most one such block per head and call). Included by attend_sources.h.
#pragma once
#include <algorithm>

namespace kvp {

template <class S, class Ld> struct TieredSource {
  DenseSource<S, Ld> cold, hot;
  /** Slots [0, coldEnd) are cold. */
  const int coldEnd;
  int nb = 0, nc = 0;  // the block's slots and how many of them are cold

  TieredSource(const AttendPlan &p, int h, int tokens, int splitEnd)
      : cold(p, h, tokens, std::min(splitEnd, int(p.kv->cold_lengths[h])), p.kv->cold_keys, p.kv->cold_values, p.kv->cold_capacity, 0, 0),
        hot(p, h, tokens, splitEnd, p.kv->keys, p.kv->values, p.kv->hot_capacity, p.kv->hot_start[h], p.kv->cold_lengths[h]),
        coldEnd(p.kv->cold_lengths[h]) {}

  void block(int b0, int n) {
    nb = n;
    nc = std::max(0, std::min(n, coldEnd - b0));
    if (nc > 0) cold.block(b0, nc);
    if (nb > nc) hot.block(b0 + nc, nb - nc);
  }

  void scores(bool lead, int rn, const float *const *qs, float *const *ss) const {
    if (nc > 0) cold.scores(lead, rn, qs, ss);
    if (nb > nc) hot.scores(lead, rn, qs, shifted(rn, ss).data());
  }

  void chunk_scores(int rn, const float *const *qs, float *const *ss) const {
    if (nc > 0) cold.chunk_scores(rn, qs, ss);
    if (nb > nc) hot.chunk_scores(rn, qs, shifted(rn, ss).data());
  }

  void pv(bool first, int rn, const float *const *ps, float *const *as) const {
    if (nc > 0) cold.pv(first, rn, ps, as);
    if (nb > nc) {
      std::array<const float *, 4> sh{};
      for (int r = 0; r < rn; r++) sh[r] = ps[r] + nc;
      hot.pv(first, rn, sh.data(), as);
    }
  }

 private:
  /** Row pointers moved past the block's cold slots. */
  std::array<float *, 4> shifted(int rn, float *const *rows) const {
    std::array<float *, 4> out{};
    for (int r = 0; r < rn; r++) out[r] = rows[r] + nc;
    return out;
  }
};

/** Calls fn(source) for head h of a dense dtype: tiered when the layout has a tier, packed
 *  key rows when its keys are pruned (ThinK; never both: kvp_attend refuses the pair). */
template <class S, class Ld, class F> inline void with_dense(const AttendPlan &p, int h, int tokens, int splitEnd, F &&fn) {
  if (p.kv->cold_lengths) {
    TieredSource<S, Ld> s(p, h, tokens, splitEnd);
    fn(s);
  } else if (p.kv->key_channels) {
    PrunedKeySource<S, Ld> s(p, h, tokens, splitEnd);
    fn(s);
  } else {
    DenseSource<S, Ld> s(p, h, tokens, splitEnd);
    fn(s);
  }
}

}  // namespace kvp
