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

/** Per-lane fallback for a vector whose W channels span several scale groups. */
template <class S, class Rows> inline typename S::V lanes(const Rows &rows, int j, int c) {
  alignas(64) float t[S::W];
  for (int l = 0; l < S::W; l++) t[l] = rows.one(j, c + l);
  return S::load(t);
}

/** int8-fp8 keys of one head: row j = D u8 codes, x = min + scale·code with (scale, min) per
 *  (slot, group of G channels): sm [len][ng][2]. */
template <class S> struct Int8KeyRows {
  const uint8_t *codes;
  const float *sm;
  int D, G, ng;
  bool uniform;  // G % W == 0: every vector lies inside one group
  typename S::V vec(int j, int c) const {
    if (!uniform) return lanes<S>(*this, j, c);
    const float *g = sm + (size_t(j) * ng + c / G) * 2;
    return S::fma(S::load_u8(codes + size_t(j) * D, c), S::set1(g[0]), S::set1(g[1]));
  }
  float one(int j, int c) const {
    const float *g = sm + (size_t(j) * ng + c / G) * 2;
    return g[1] + g[0] * float(codes[size_t(j) * D + c]);
  }
};

/** int8-fp8 values of one head: row j = D e4m3 codes, x = scale·e4m3, scale [len][ng]. */
template <class S> struct Fp8ValueRows {
  const uint8_t *codes;
  const float *scale;
  int D, G, ng;
  bool uniform;
  typename S::V vec(int j, int c) const {
    if (!uniform) return lanes<S>(*this, j, c);
    return S::mul(S::load_e4m3(codes + size_t(j) * D, c), S::set1(scale[size_t(j) * ng + c / G]));
  }
  float one(int j, int c) const { return scale[size_t(j) * ng + c / G] * e4m3_to_f32(codes[size_t(j) * D + c]); }
};

template <class S, int BITS> inline typename S::V load_packed(const uint8_t *row, int c) {
  if constexpr (BITS == 4) return S::load_u4(row, c);
  else return S::load_u2(row, c);
}

/** KIVI values of one head: packed rows of rowBytes, (scale, min) per (slot, channel group):
 *  sm [coded][ng][2]. */
template <class S, int BITS> struct KiviValueRows {
  const uint8_t *codes;
  const float *sm;
  int rowBytes, G, ng;
  bool uniform;
  typename S::V vec(int j, int c) const {
    if (!uniform) return lanes<S>(*this, j, c);
    const float *g = sm + (size_t(j) * ng + c / G) * 2;
    return S::fma(load_packed<S, BITS>(codes + size_t(j) * rowBytes, c), S::set1(g[0]), S::set1(g[1]));
  }
  float one(int j, int c) const {
    const float *g = sm + (size_t(j) * ng + c / G) * 2;
    return g[1] + g[0] * float(packed_code<S, BITS>(codes + size_t(j) * rowBytes, c));
  }
};

/** KIVI keys of one key group: packed rows, per-channel scale and minimum of the group held
 *  planar (scale [D], min [D]) so a vector of W channels loads its W scales at once. */
template <class S, int BITS> struct KiviKeyRows {
  const uint8_t *codes;
  const float *scale, *min;
  int rowBytes;
  typename S::V vec(int j, int c) const {
    return S::fma(load_packed<S, BITS>(codes + size_t(j) * rowBytes, c), S::load(scale + c), S::load(min + c));
  }
  float one(int j, int c) const { return min[c] + scale[c] * float(packed_code<S, BITS>(codes + size_t(j) * rowBytes, c)); }
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
      V a[R][NS];
      for (int r = 0; r < R; r++) for (int t = 0; t < NS; t++) a[r][t] = S::zero();
      int d = 0;
      for (; d + W <= D; d += W) {
        V kv[NS];
        for (int t = 0; t < NS; t++) kv[t] = K.vec(j0 + j + t, d);
        for (int r = 0; r < R; r++) {
          const V qv = S::load(q[r] + d);
          for (int t = 0; t < NS; t++) a[r][t] = S::fma(qv, kv[t], a[r][t]);
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
          for (int dd = d; dd < D; dd++) v += q[r][dd] * K.one(j0 + j + t, dd);
          s[r][j + t] = scale * v;
        }
    }
    for (; j < nb; j++) {
      V a[R];
      for (int r = 0; r < R; r++) a[r] = S::zero();
      int d = 0;
      for (; d + W <= D; d += W) {
        const V kv = K.vec(j0 + j, d);
        for (int r = 0; r < R; r++) a[r] = S::fma(S::load(q[r] + d), kv, a[r]);
      }
      for (int r = 0; r < R; r++) {
        float v = S::hsum(a[r]);
        for (int dd = d; dd < D; dd++) v += q[r][dd] * K.one(j0 + j, dd);
        s[r][j] = scale * v;
      }
    }
  }

  /** acc[r][d] += Σ_j p[r][j]·V(j0 + j)[d] for r < R rows: each dequantised V vector feeds R
   *  FMAs (as Vec::pv_rows); slots no row attends to are skipped. */
  template <int R, class Rows>
  static void pv(const float *const *p, const Rows &Vr, int j0, int nb, int D, float *const *acc) {
    constexpr int C = W == 8 ? 2 : 4;  // vectors of D per pass (as pv_rows)
    int d = 0;
    for (; d + C * W <= D; d += C * W) {
      V a[R][C];
      for (int r = 0; r < R; r++) for (int c = 0; c < C; c++) a[r][c] = S::load(acc[r] + d + c * W);
      for (int j = 0; j < nb; j++) {
        bool any = false;
        for (int r = 0; r < R; r++) any |= p[r][j] != 0.f;
        if (!any) continue;
        V vv[C];
        for (int c = 0; c < C; c++) vv[c] = Vr.vec(j0 + j, d + c * W);
        for (int r = 0; r < R; r++) {
          const V pr = S::set1(p[r][j]);
          for (int c = 0; c < C; c++) a[r][c] = S::fma(pr, vv[c], a[r][c]);
        }
      }
      for (int r = 0; r < R; r++) for (int c = 0; c < C; c++) S::store(acc[r] + d + c * W, a[r][c]);
    }
    for (; d + W <= D; d += W) {
      V a[R];
      for (int r = 0; r < R; r++) a[r] = S::load(acc[r] + d);
      for (int j = 0; j < nb; j++) {
        bool any = false;
        for (int r = 0; r < R; r++) any |= p[r][j] != 0.f;
        if (!any) continue;
        const V vv = Vr.vec(j0 + j, d);
        for (int r = 0; r < R; r++) a[r] = S::fma(S::set1(p[r][j]), vv, a[r]);
      }
      for (int r = 0; r < R; r++) S::store(acc[r] + d, a[r]);
    }
    for (; d < D; d++)
      for (int r = 0; r < R; r++) {
        float a = acc[r][d];
        for (int j = 0; j < nb; j++)
          if (p[r][j] != 0.f) a += p[r][j] * Vr.one(j0 + j, d);
        acc[r][d] = a;
      }
  }
};

}  // namespace kvp
