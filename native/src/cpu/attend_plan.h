// How one kvp_attend call is cut into tasks, and the scratch the passes share.
// Pass 1 (per KV head × query block × KV split): online-softmax attention, plus the per-row
// statistics (entropy, flows) that online softmax can carry. Combine: merges the KV splits.
// Pass 2 (per KV head × slot chunk): slot-aligned statistics from p = exp(s − lse).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>
#include "../../include/kvprism.h"

namespace kvp {

struct AttendPlan {
  const kvp_attend_args *a;
  const kvp_kv_layout *kv;
  kvp_stats_out *st;
  int n, qHeads, kvHeads, G, D, cap;
  int qBlock, nQBlocks, splits, bk, chunk;
  int lmax;
  bool wantFlows, wantEntropy, wantSlotStats;
  int windowFrom;                 // first query token of the stats window (n when off)
  /** Pass 1 runs each head's pass 2 itself when one task holds all of a head's rows (one KV
   *  split, one query block: decode), while the head's scores are in L2 and other threads
   *  still stream K/V; a separate pass 2 ran with memory idle (native/README.md). */
  bool fusedPass2;
  /** Pass-1 partial per task and row: [m, l, t, fl0..3, acc[D]] (only when splits > 1). */
  float *part;
  size_t partRowStride() const { return size_t(D) + 7; }
  size_t partTaskStride() const { return partRowStride() * size_t(qBlock) * size_t(G); }
  /** [kvHeads][n][G] log-sum-exp of each row's scaled scores (-inf: row sees nothing). */
  float *lse;
  /** [kvHeads][nQBlocks][M*M] flow partials, reduced serially after pass 1. */
  double *flowPart;
  /** Optional [kvHeads][n*G][lmax] scaled scores kept from pass 1 for pass 2 (else null). */
  float *scores;
  /** Ascending copy of q_positions (redistributed: count_j by binary search). */
  const int32_t *sortedQpos;
  /** Pruned keys (kv->key_channels): key_dim, and [n][qHeads][Dk] the queries' kept channels
   *  (null when keys are whole; Dk = D then). */
  int Dk;
  const float *keyQ;
  /** The gathered query row of the full query row q (a pointer into a->q). */
  const float *keyQuery(const float *q) const { return keyQ + size_t(q - a->q) / size_t(D) * Dk; }

  int tasks1() const { return kvHeads * nQBlocks * splits; }
  int tasksCombine() const { return kvHeads * nQBlocks; }
  /** Pass-2 slot chunks per KV head. */
  int slotChunks() const { return (lmax + chunk - 1) / chunk; }
  int tasks2() const { return kvHeads * slotChunks(); }

  /** KV slot range [begin, end) of split s of head h. */
  void splitRange(int h, int s, int &begin, int &end) const {
    int len = kv->lengths[h];
    int per = (len + splits - 1) / splits;
    per = (per + bk - 1) / bk * bk;
    begin = s * per < len ? s * per : len;
    end = begin + per < len ? begin + per : len;
  }
  size_t qIndex(int i, int h, int g) const { return (size_t(i) * qHeads + size_t(h) * G + g) * D; }
  float *scoreRow(int h, int r) const { return scores + (size_t(h) * n * G + r) * lmax; }
};

/** The slot-aligned statistics ([kvHeads][capacity] each; null when not wanted). */
inline std::array<float *, 5> slot_stat_arrays(const kvp_stats_out &st) {
  return {st.cumulative, st.window, st.last_query, st.text_column, st.redistributed};
}

/** Largest score scratch (floats) pass 1 may keep for pass 2; beyond it pass 2 recomputes
 *  scores. Default 8Mi (32 MiB); tests set 0 to exercise the recompute path. */
extern size_t g_scoreCacheFloats;
/** Whether pass 1 may run pass 2 itself (AttendPlan::fusedPass2); KVPRISM_FUSE_STATS=0 turns
 *  it off. Defined in attend.cpp. */
extern bool g_fusePass2;

/** Checks kvp_attend's arguments (host pointers); KVP_OK or KVP_EINVAL with kvp_last_error set.
 *  Shared by the CPU entry point and the CUDA host wrapper. */
int validate_attend(const kvp_attend_args *a, const kvp_kv_layout *kv, const kvp_stats_out *st);

/** Fills in the task decomposition for `threads` workers. */
void plan_attend(AttendPlan &p, int threads);

}  // namespace kvp
