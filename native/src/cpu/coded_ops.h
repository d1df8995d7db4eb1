// Q·K and P·V over coded K/V rows (int8 / fp8-e4m3 / KIVI packed codes), dequantised inside
// the loads: each dequantised vector feeds the FMAs of every query head of the GQA group, so
// only the code bytes (plus their scales) stream from memory. Included by the per-ISA
// translation units only (see vec_ops.h).
#pragma once
#include <cstddef>
#include <cstdint>
#include "../../include/kvprism.h"
#include "vec_ops.h"

namespace kvp {

/** Element c of a packed row of BITS-bit codes (little-endian within each byte). Templated on
 *  the ISA struct like everything here, so no copy compiled for one ISA is shared with another. */
template <class S, int BITS> inline int packed_code(const uint8_t *row, int c) {
  constexpr int per = 8 / BITS;
  return (row[c / per] >> ((c % per) * BITS)) & ((1 << BITS) - 1);
}

/** c / G by a multiply and a shift instead of a division per vector per slot: exact while
 *  c·G < 2^32 (kvp_attend bounds coded head_dim to 65536 and G to 1024). Templated on the ISA
 *  struct like everything here (no inline copy shared between ISA translation units). */
template <class S> struct GroupOf {
  uint64_t m = 1;
  GroupOf() = default;
  explicit GroupOf(int G) : m(((uint64_t(1) << 32) + uint64_t(G) - 1) / uint64_t(G)) {}
  int operator()(int c) const { return int((uint64_t(uint32_t(c)) * m) >> 32); }
};

/** Per-lane fallback for a vector whose W channels span several scale groups. */
template <class S, class Row> inline typename S::V lanes(const Row &row, int c) {
  alignas(64) float t[S::W];
  for (int l = 0; l < S::W; l++) t[l] = row.one(c + l);
  return S::load(t);
}

// Row sets: `at(j)` gives slot j's row, whose `vec(c)` is channels c..c+W−1 dequantised and
// `one(c)` channel c. UNIFORM (G % W == 0: every vector inside one scale group) is a template
// flag so the fast path has no per-vector branch; the sources pick it once per call.

/** int8-fp8 keys of one head: row j = D u8 codes, x = min + scale·code with (scale, min) per
 *  (slot, group of G channels): sm [len][ng][2]. */
template <class S, bool UNIFORM> struct Int8KeyRows {
  const uint8_t *codes;
  const float *sm;
  int D, ng;
  GroupOf<S> group;
  struct Row {
    const uint8_t *codes;
    const float *sm;
    GroupOf<S> group;
    typename S::V vec(int c) const {
      if constexpr (!UNIFORM) return lanes<S>(*this, c);
      const float *g = sm + 2 * group(c);
      return S::fma(S::load_u8(codes, c), S::set1(g[0]), S::set1(g[1]));
    }
    float one(int c) const {
      const float *g = sm + 2 * group(c);
      return g[1] + g[0] * float(codes[c]);
    }
  };
  Row at(int j) const { return {codes + size_t(j) * D, sm + size_t(j) * ng * 2, group}; }
};

/** int8-fp8 values of one head: row j = D e4m3 codes, x = scale·e4m3, scale [len][ng]. The
 *  loads give e4m3 ÷ 2^8, so 2^8 is folded into the scale (one multiply per vector; scale·2^8
 *  cannot overflow: scale = max|x|/448). */
template <class S, bool UNIFORM> struct Fp8ValueRows {
  const uint8_t *codes;
  const float *scale;
  int D, ng;
  GroupOf<S> group;
  struct Row {
    const uint8_t *codes;
    const float *scale;
    GroupOf<S> group;
    typename S::V vec(int c) const {
      if constexpr (!UNIFORM) return lanes<S>(*this, c);
      return S::mul(S::load_e4m3_raw(codes, c), S::set1(scale[group(c)] * kE4m3Raw));
    }
    float one(int c) const { return scale[group(c)] * e4m3_to_f32(codes[c]); }
  };
  Row at(int j) const { return {codes + size_t(j) * D, scale + size_t(j) * ng, group}; }
  /** Brings row j (codes and scales) into L1. */
  void touch(int j) const {
    Vec<S>::prefetch_l1(codes + size_t(j) * D, D);
    Vec<S>::prefetch_l1(scale + size_t(j) * ng, 4 * ng);
  }
};

template <class S, int BITS> inline typename S::V load_packed(const uint8_t *row, int c) {
  if constexpr (BITS == 4) return S::load_u4(row, c);
  else return S::load_u2(row, c);
}

/** KIVI values of one head: packed rows of rowBytes, (scale, min) per (slot, channel group):
 *  sm [coded][ng][2]. */
template <class S, int BITS, bool UNIFORM> struct KiviValueRows {
  const uint8_t *codes;
  const float *sm;
  int rowBytes, ng;
  GroupOf<S> group;
  struct Row {
    const uint8_t *codes;
    const float *sm;
    GroupOf<S> group;
    typename S::V vec(int c) const {
      if constexpr (!UNIFORM) return lanes<S>(*this, c);
      const float *g = sm + 2 * group(c);
      return S::fma(load_packed<S, BITS>(codes, c), S::set1(g[0]), S::set1(g[1]));
    }
    float one(int c) const {
      const float *g = sm + 2 * group(c);
      return g[1] + g[0] * float(packed_code<S, BITS>(codes, c));
    }
  };
  Row at(int j) const { return {codes + size_t(j) * rowBytes, sm + size_t(j) * ng * 2, group}; }
  /** Brings row j (codes and scales) into L1. */
  void touch(int j) const {
    Vec<S>::prefetch_l1(codes + size_t(j) * rowBytes, rowBytes);
    Vec<S>::prefetch_l1(sm + size_t(j) * ng * 2, 8 * ng);
  }
};

/** KIVI keys with the key group's per-channel scales folded into the queries: k_c = min_c +
 *  scale_c·code_c, so q·k = Σ_c (q_c·scale_c)·code_c + Σ_c q_c·min_c, and the inner loop is a
 *  code → f32 dot with no dequantisation. Channels are taken in unpacked order: a span of
 *  W·P channels (P = 8 / BITS codes per byte) is W bytes, and sub-vector k holds in lane i the
 *  code of channel span + P·i + k (byte i's field k), so one byte load feeds P vectors with no
 *  cross-lane shuffle. The sum does not depend on the order; the queries and the group's scales
 *  are laid out in it instead. Channels past the last whole span stay in channel order. */
template <class S, int BITS> struct KiviKeyFold {
  static constexpr int P = 8 / BITS, SPAN = S::W * P;
  /** Channels in whole spans (the unpacked part). */
  static int spans(int D) { return D / SPAN * SPAN; }
  /** out[unpacked position of c] = in[c·stride], c < D. */
  static void permute(const float *in, int stride, float *out, int D) {
    const int Df = spans(D);
    for (int sp = 0; sp < Df; sp += SPAN)
      for (int i = 0; i < S::W; i++)
        for (int k = 0; k < P; k++) out[sp + k * S::W + i] = in[size_t(sp + P * i + k) * stride];
    for (int c = Df; c < D; c++) out[c] = in[size_t(c) * stride];
  }
};

template <class S> struct CodedVec {
  using V = typename S::V;
  static constexpr int W = S::W;

  /** s[r][j] = scale · q[r]·K(j0 + j) for r < R rows, j < nb slots: each dequantised K
   *  vector feeds R FMAs (as Vec::qk_rows). */
  template <int R, class Rows>
  static void qk(const float *const *q, const Rows &K, int j0, int nb, int D, float scale, float *const *s) {
    constexpr int NS = W == 16 ? 4 : 2;
    int j = 0;
    for (; j + NS <= nb; j += NS) {
      typename Rows::Row row[NS];
      for (int t = 0; t < NS; t++) row[t] = K.at(j0 + j + t);
      V a[R][NS];
      for (int r = 0; r < R; r++) for (int t = 0; t < NS; t++) a[r][t] = S::zero();
      int d = 0;
      for (; d + W <= D; d += W) {
        V qv[R];
        for (int r = 0; r < R; r++) qv[r] = S::load(q[r] + d);
        for (int t = 0; t < NS; t++) {
          const V kv = row[t].vec(d);
          for (int r = 0; r < R; r++) a[r][t] = S::fma(qv[r], kv, a[r][t]);
        }
      }
      if constexpr (R * NS == W && (W == 8 || W == 16)) {
        if (d == D) {
          alignas(64) float sums[W];
          Vec<S>::hsum_lanes(&a[0][0], sums);
          for (int r = 0; r < R; r++)
            for (int t = 0; t < NS; t++) s[r][j + t] = scale * sums[r * NS + t];
          continue;
        }
      }
      for (int r = 0; r < R; r++)
        for (int t = 0; t < NS; t++) {
          float v = S::hsum(a[r][t]);
          for (int dd = d; dd < D; dd++) v += q[r][dd] * row[t].one(dd);
          s[r][j + t] = scale * v;
        }
    }
    for (; j < nb; j++) {
      const typename Rows::Row row = K.at(j0 + j);
      V a[R];
      for (int r = 0; r < R; r++) a[r] = S::zero();
      int d = 0;
      for (; d + W <= D; d += W) {
        const V kv = row.vec(d);
        for (int r = 0; r < R; r++) a[r] = S::fma(S::load(q[r] + d), kv, a[r]);
      }
      for (int r = 0; r < R; r++) {
        float v = S::hsum(a[r]);
        for (int dd = d; dd < D; dd++) v += q[r][dd] * row.one(dd);
        s[r][j] = scale * v;
      }
    }
  }

  /** s[r][j] = scale·(qf[r]·codes(j0 + j) + bias[r]) for r < R rows, j < nb slots of packed
   *  BITS-bit KIVI key rows (rowBytes each): qf[r] [D] are the queries times the group's
   *  channel scales in unpacked order, bias[r] = Σ q·min (KiviKeyFold). */
  template <int R, int BITS>
  static void qk_folded(const float *const *qf, const float *bias, const uint8_t *codes, int rowBytes, int j0, int nb, int D,
                        float scale, float *const *s) {
    using F = KiviKeyFold<S, BITS>;
    constexpr int NS = W == 16 ? 4 : 2, P = F::P;
    const int Df = F::spans(D);
    int j = 0;
    for (; j + NS <= nb; j += NS) {
      const uint8_t *row[NS];
      for (int t = 0; t < NS; t++) row[t] = codes + size_t(j0 + j + t) * rowBytes;
      V a[R][NS];
      for (int r = 0; r < R; r++) for (int t = 0; t < NS; t++) a[r][t] = S::zero();
      for (int sp = 0; sp < Df; sp += F::SPAN)
        for (int k = 0; k < P; k++) {
          V kv[NS];
          for (int t = 0; t < NS; t++) kv[t] = S::template unpack<BITS>(row[t] + sp / P, k);
          for (int r = 0; r < R; r++) {
            const V qv = S::load(qf[r] + sp + k * W);
            for (int t = 0; t < NS; t++) a[r][t] = S::fma(qv, kv[t], a[r][t]);
          }
        }
      if constexpr (R * NS == W && (W == 8 || W == 16)) {
        if (Df == D) {
          alignas(64) float sums[W];
          Vec<S>::hsum_lanes(&a[0][0], sums);
          for (int r = 0; r < R; r++)
            for (int t = 0; t < NS; t++) s[r][j + t] = scale * (sums[r * NS + t] + bias[r]);
          continue;
        }
      }
      for (int r = 0; r < R; r++)
        for (int t = 0; t < NS; t++) {
          float v = S::hsum(a[r][t]);
          for (int c = Df; c < D; c++) v += qf[r][c] * float(packed_code<S, BITS>(row[t], c));
          s[r][j + t] = scale * (v + bias[r]);
        }
    }
    for (; j < nb; j++) {
      const uint8_t *row = codes + size_t(j0 + j) * rowBytes;
      V a[R];
      for (int r = 0; r < R; r++) a[r] = S::zero();
      for (int sp = 0; sp < Df; sp += F::SPAN)
        for (int k = 0; k < P; k++) {
          const V kv = S::template unpack<BITS>(row + sp / P, k);
          for (int r = 0; r < R; r++) a[r] = S::fma(S::load(qf[r] + sp + k * W), kv, a[r]);
        }
      for (int r = 0; r < R; r++) {
        float v = S::hsum(a[r]);
        for (int c = Df; c < D; c++) v += qf[r][c] * float(packed_code<S, BITS>(row, c));
        s[r][j] = scale * (v + bias[r]);
      }
    }
  }

  /** acc[r][d] += Σ_j p[r][j]·V(j0 + j)[d] for r < R rows: each dequantised V vector feeds R
   *  FMAs as soon as it is made; slots no row attends to are skipped (Vec::pv_slots). */
  template <int R, class Rows>
  static void pv(const float *const *p, const Rows &Vr, int j0, int nb, int D, float *const *acc) {
    Vec<S>::template pv_slots<R>(p, Vr, j0, nb, D, acc);
  }
};

}  // namespace kvp
