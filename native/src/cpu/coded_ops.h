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
};

/** KIVI keys of one key group: packed rows, per-channel scale and minimum of the group held
 *  planar (scale [D], min [D]) so a vector of W channels loads its W scales at once. */
template <class S, int BITS> struct KiviKeyRows {
  const uint8_t *codes;
  const float *scale, *min;
  int rowBytes;
  struct Row {
    const uint8_t *codes;
    const float *scale, *min;
    typename S::V vec(int c) const { return S::fma(load_packed<S, BITS>(codes, c), S::load(scale + c), S::load(min + c)); }
    float one(int c) const { return min[c] + scale[c] * float(packed_code<S, BITS>(codes, c)); }
  };
  Row at(int j) const { return {codes + size_t(j) * rowBytes, scale, min}; }
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
      if constexpr (W == 16 && R * NS == 16) {
        if (d == D) {
          alignas(64) float sums[16];
          S::hsum16(&a[0][0], sums);
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

  /** acc[r][d] += Σ_j p[r][j]·V(j0 + j)[d] for r < R rows: each dequantised V vector feeds R
   *  FMAs as soon as it is made (as Vec::pv_rows); slots no row attends to are skipped. */
  template <int R, class Rows>
  static void pv(const float *const *p, const Rows &Vr, int j0, int nb, int D, float *const *acc) {
    constexpr int kPiece = 256;
    for (int b = 0; b < nb; b += kPiece) {
      const float *pp[R];
      for (int r = 0; r < R; r++) pp[r] = p[r] + b;
      pv_piece<R>(pp, Vr, j0 + b, nb - b < kPiece ? nb - b : kPiece, D, acc);
    }
  }

  /** pv over ≤ 256 slots. The slots some row attends to are listed once, not tested again for
   *  every chunk of channels. */
  template <int R, class Rows>
  static void pv_piece(const float *const *p, const Rows &Vr, int j0, int nb, int D, float *const *acc) {
    int16_t live[256];
    int nl = 0;
    for (int j = 0; j < nb; j++) {
      bool any = false;
      for (int r = 0; r < R; r++) any |= p[r][j] != 0.f;
      live[nl] = int16_t(j);
      nl += any ? 1 : 0;
    }
    constexpr int C = W == 8 ? 2 : 4;  // vectors of D per pass (as pv_rows)
    int d = 0;
    for (; d + C * W <= D; d += C * W) {
      V a[R][C];
      for (int r = 0; r < R; r++) for (int c = 0; c < C; c++) a[r][c] = S::load(acc[r] + d + c * W);
      for (int k = 0; k < nl; k++) {
        const int j = live[k];
        const typename Rows::Row row = Vr.at(j0 + j);
        V pr[R];
        for (int r = 0; r < R; r++) pr[r] = S::set1(p[r][j]);
        for (int c = 0; c < C; c++) {
          const V vv = row.vec(d + c * W);
          for (int r = 0; r < R; r++) a[r][c] = S::fma(pr[r], vv, a[r][c]);
        }
      }
      for (int r = 0; r < R; r++) for (int c = 0; c < C; c++) S::store(acc[r] + d + c * W, a[r][c]);
    }
    for (; d + W <= D; d += W) {
      V a[R];
      for (int r = 0; r < R; r++) a[r] = S::load(acc[r] + d);
      for (int k = 0; k < nl; k++) {
        const int j = live[k];
        const V vv = Vr.at(j0 + j).vec(d);
        for (int r = 0; r < R; r++) a[r] = S::fma(S::set1(p[r][j]), vv, a[r]);
      }
      for (int r = 0; r < R; r++) S::store(acc[r] + d, a[r]);
    }
    for (; d < D; d++)
      for (int r = 0; r < R; r++) {
        float a = acc[r][d];
        for (int k = 0; k < nl; k++) a += p[r][live[k]] * Vr.at(j0 + live[k]).one(d);
        acc[r][d] = a;
      }
  }
};

}  // namespace kvp
