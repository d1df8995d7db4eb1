// Row primitives built on one ISA's vector struct S (simd/simd_*.h). Included by the per-ISA
// translation units only, so each instantiation is compiled with that ISA's flags.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include "../../include/kvprism.h"
#include "half.h"

namespace kvp {

/** Rows ahead that qk_rows software-prefetches K (and V in decode when the next-block
 *  prefetch is off): KVPRISM_PREFETCH=<rows>, default 16. Defined in attend.cpp. */
extern int g_prefetchRows;
/** Decode prefetches the next KV block, its K during this block's Q·K and its V during P·V,
 *  so DRAM streams while the core computes (≈ 1.3–1.5× at 32k on AMD EPYC, 2 threads; the
 *  rows-ahead prefetch left memory idle during P·V). KVPRISM_PREFETCH_NEXT=0 turns it off.
 *  Defined in attend.cpp. */
extern bool g_prefetchNext;
/** Whether attention may use the row-order kernels (qk_seq / pv_seq) where they fit:
 *  KVPRISM_ROW_ORDER=0 restores the interleaved kernels with software prefetch. Defined in
 *  attend.cpp. */
extern bool g_rowOrder;
#ifndef KVP_PFL
#define KVP_PFL 2
#endif
constexpr int PFL = KVP_PFL;

/** How a kernel reads K/V elements of one storage dtype as f32: a vector of W (`vec`) or one
 *  (`one`). 16-bit rows are widened inside the load, so they stream at half the bytes. */
template <class S> struct LoadF32 {
  using T = float;
  static typename S::V vec(const float *p) { return S::load(p); }
  static float one(const float *p) { return *p; }
};
template <class S> struct LoadF16 {
  using T = uint16_t;
  static typename S::V vec(const uint16_t *p) { return S::load_f16(p); }
  static float one(const uint16_t *p) { return kvp::f16_to_f32(*p); }
};
template <class S> struct LoadBF16 {
  using T = uint16_t;
  static typename S::V vec(const uint16_t *p) { return S::load_bf16(p); }
  static float one(const uint16_t *p) { return kvp::bf16_to_f32(*p); }
};

/** Calls fn(Loader{}) with the loader of a K/V dtype. */
template <class S, class F> inline void with_loader(kvp_dtype dt, F &&fn) {
  if (dt == KVP_F16) fn(LoadF16<S>{});
  else if (dt == KVP_BF16) fn(LoadBF16<S>{});
  else fn(LoadF32<S>{});
}

template <class S> struct Vec {
  using V = typename S::V;
  static constexpr int W = S::W;

  /** Prefetches [p, p + bytes) into L1, one hint per 64-byte line (a member, like everything
   *  here, so no copy compiled for one ISA is shared with another). */
  static void prefetch_l1(const void *p, int bytes) {
    const char *c = static_cast<const char *>(p);
    for (int x = 0; x < bytes; x += 64) __builtin_prefetch(c + x, 0, 3);
  }

  /** Σ a[i]·b[i], i < n, with b read through loader Ld (any K/V storage dtype). Four
   *  accumulators hide FMA latency. */
  template <class Ld> static float dot_ld(const float *a, const typename Ld::T *b, int n) {
    V s0 = S::zero(), s1 = S::zero(), s2 = S::zero(), s3 = S::zero();
    int i = 0;
    for (; i + 4 * W <= n; i += 4 * W) {
      s0 = S::fma(S::load(a + i), Ld::vec(b + i), s0);
      s1 = S::fma(S::load(a + i + W), Ld::vec(b + i + W), s1);
      s2 = S::fma(S::load(a + i + 2 * W), Ld::vec(b + i + 2 * W), s2);
      s3 = S::fma(S::load(a + i + 3 * W), Ld::vec(b + i + 3 * W), s3);
    }
    for (; i + W <= n; i += W) s0 = S::fma(S::load(a + i), Ld::vec(b + i), s0);
    float r = S::hsum(S::add(S::add(s0, s1), S::add(s2, s3)));
    for (; i < n; i++) r += a[i] * Ld::one(b + i);
    return r;
  }

  /** out[i] = Σ lanes of v[i], i < W (W = 8 or 16): the ISA's transpose-add tree. */
  static void hsum_lanes(const V *v, float *out) {
    if constexpr (W == 16) S::hsum16(v, out);
    else S::hsum8(v, out);
  }

  /** Σ a[i]·b[i], i < n. */
  static float dot(const float *a, const float *b, int n) { return dot_ld<LoadF32<S>>(a, b, n); }

  /** y[i] += a·x[i]. */
  static void axpy(float a, const float *x, float *y, int n) {
    V va = S::set1(a);
    int i = 0;
    for (; i + W <= n; i += W) S::store(y + i, S::fma(va, S::load(x + i), S::load(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
  }

  /** y[i] *= a. */
  static void scale(float a, float *y, int n) {
    V va = S::set1(a);
    int i = 0;
    for (; i + W <= n; i += W) S::store(y + i, S::mul(va, S::load(y + i)));
    for (; i < n; i++) y[i] *= a;
  }

  static float max(const float *x, int n) {
    float m = -std::numeric_limits<float>::infinity();
    int i = 0;
    if (n >= W) {
      V vm = S::load(x);
      for (i = W; i + W <= n; i += W) vm = S::max(vm, S::load(x + i));
      m = S::hmax(vm);
    }
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
  }

  /** p[i] = exp(s[i] - m) (0 where s = -inf); returns Σ p. s and p may alias. */
  static float exp_sub(const float *s, float *p, int n, float m) {
    V vm = S::set1(-m), acc = S::zero();
    int i = 0;
    for (; i + W <= n; i += W) {
      V e = S::exp(S::add(S::load(s + i), vm));
      S::store(p + i, e);
      acc = S::add(acc, e);
    }
    float r = S::hsum(acc);
    for (; i < n; i++) {
      float e = std::exp(s[i] - m);
      p[i] = e;
      r += e;
    }
    return r;
  }

  /** s[j] = scale · q·K[j] for j < nb (K rows of stride D), four slots per pass over q. */
  static void qk(const float *q, const float *K, int nb, int D, float scale, float *s) {
    int j = 0;
    for (; j + 4 <= nb; j += 4) {
      const float *k0 = K + size_t(j) * D, *k1 = k0 + D, *k2 = k1 + D, *k3 = k2 + D;
      V a0 = S::zero(), a1 = S::zero(), a2 = S::zero(), a3 = S::zero();
      int d = 0;
      for (; d + W <= D; d += W) {
        const V qv = S::load(q + d);
        a0 = S::fma(qv, S::load(k0 + d), a0);
        a1 = S::fma(qv, S::load(k1 + d), a1);
        a2 = S::fma(qv, S::load(k2 + d), a2);
        a3 = S::fma(qv, S::load(k3 + d), a3);
      }
      float r0 = S::hsum(a0), r1 = S::hsum(a1), r2 = S::hsum(a2), r3 = S::hsum(a3);
      for (; d < D; d++) { r0 += q[d] * k0[d]; r1 += q[d] * k1[d]; r2 += q[d] * k2[d]; r3 += q[d] * k3[d]; }
      s[j] = scale * r0; s[j + 1] = scale * r1; s[j + 2] = scale * r2; s[j + 3] = scale * r3;
    }
    for (; j < nb; j++) s[j] = scale * dot(q, K + size_t(j) * D, D);
  }

  /** s[r][j] = scale · q[r]·K[j] for r < R query rows and j < nb slots (K rows of stride D):
   *  each K vector load feeds R FMAs and each q load NS, so the group's query heads share one
   *  pass over the block. */
  template <int R, class Ld = LoadF32<S>>
  static void qk_rows(const float *const *q, const typename Ld::T *K, int nb, int D, float scale, float *const *s,
                      const float *touchV = nullptr, const char *nextK = nullptr, int rowBytes = 0) {
    constexpr int NS = W == 8 ? 2 : 4;  // slots per pass: R·NS accumulators fit the register file
    int j = 0;
    for (; j + NS <= nb; j += NS) {
      V a[R][NS];
      for (int r = 0; r < R; r++) for (int t = 0; t < NS; t++) a[r][t] = S::zero();
      // K and V stream from DRAM: prefetch them into L2 before the FMAs need them, either the
      // next block (decode, nextK; pv_rows does its V) or g_prefetchRows slots ahead.
      if (nextK) {
        // The next block's K, NS rows per NS rows done: memory streams while this block computes.
        for (int b = 0; b < NS * rowBytes; b += 64) __builtin_prefetch(nextK + size_t(j) * rowBytes + b, 0, PFL);
      } else if (touchV) {
        const size_t ahead = size_t(j + g_prefetchRows) * D;
        for (int b = 0; b < NS * D; b += 16) {
          __builtin_prefetch(K + ahead + b, 0, PFL);
          __builtin_prefetch(touchV + ahead + b, 0, PFL);
        }
      } else if (g_prefetchRows) {
        for (int b = 0; b < NS * D; b += 16) __builtin_prefetch(K + size_t(j + g_prefetchRows) * D + b);
      }
      int d = 0;
      for (; d + W <= D; d += W) {
        V kv[NS];
        for (int t = 0; t < NS; t++) kv[t] = Ld::vec(K + size_t(j + t) * D + d);
        for (int r = 0; r < R; r++) {
          const V qv = S::load(q[r] + d);
          for (int t = 0; t < NS; t++) a[r][t] = S::fma(qv, kv[t], a[r][t]);
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
          for (int dd = d; dd < D; dd++) v += q[r][dd] * Ld::one(K + size_t(j + t) * D + dd);
          s[r][j + t] = scale * v;
        }
    }
    for (; j < nb; j++)
      for (int r = 0; r < R; r++) s[r][j] = scale * dot_ld<Ld>(q[r], K + size_t(j) * D, D);
  }

  /** Whether the row-order kernels fit head dim D: W = 16 (32 vector registers) and D = C·W
   *  with C in {4, 8, 16}, so the query rows (qk) or accumulators (pv) stay in registers. */
  static constexpr bool row_order_fits(int D) { return W == 16 && (D == 4 * W || D == 8 * W || D == 16 * W); }

  /** s[r][j] = scale · q[r]·K[j] for RP query rows held in registers (D = C·W). K is read
   *  row after row, whole, in address order: the hardware prefetcher follows that stream
   *  (the interleaved qk_rows defeats it, measured 20 vs 34 GB/s for a bare read on AMD
   *  EPYC), so decode needs no software prefetch. Four slots share one reduction. */
  template <int RP, int C, class Ld>
  static void qk_seq(const float *const *q, const typename Ld::T *K, int nb, float scale, float *const *s) {
    constexpr int NS = 4, D = C * W;
    static_assert(RP * NS <= 16, "one hsum16 per NS slots");
    V qv[RP][C];
    for (int r = 0; r < RP; r++) for (int c = 0; c < C; c++) qv[r][c] = S::load(q[r] + c * W);
    int j = 0;
    for (; j + NS <= nb; j += NS) {
      V a[16];
      for (int t = 0; t < NS; t++) {
        for (int r = 0; r < RP; r++) a[r * NS + t] = S::zero();
        for (int c = 0; c < C; c++) {
          const V kv = Ld::vec(K + size_t(j + t) * D + c * W);
          for (int r = 0; r < RP; r++) a[r * NS + t] = S::fma(qv[r][c], kv, a[r * NS + t]);
        }
      }
      for (int k = RP * NS; k < 16; k++) a[k] = S::zero();
      alignas(64) float sums[16];
      S::hsum16(a, sums);
      for (int r = 0; r < RP; r++) for (int t = 0; t < NS; t++) s[r][j + t] = scale * sums[r * NS + t];
    }
    for (; j < nb; j++)
      for (int r = 0; r < RP; r++) s[r][j] = scale * dot_ld<Ld>(q[r], K + size_t(j) * D, D);
  }

  /** acc[r] += Σ_j p[r][j]·V[j] for RP rows whose accumulators stay in registers (D = C·W);
   *  V is read row after row, whole, in address order (see qk_seq). */
  template <int RP, int C, class Ld>
  static void pv_seq(const float *const *p, const typename Ld::T *Vb, int nb, float *const *acc) {
    constexpr int D = C * W;
    V a[RP][C];
    for (int r = 0; r < RP; r++) for (int c = 0; c < C; c++) a[r][c] = S::load(acc[r] + c * W);
    for (int j = 0; j < nb; j++) {
      V pr[RP];
      bool any = false;
      for (int r = 0; r < RP; r++) { any |= p[r][j] != 0.f; pr[r] = S::set1(p[r][j]); }
      if (!any) continue;
      for (int c = 0; c < C; c++) {
        const V vv = Ld::vec(Vb + size_t(j) * D + c * W);
        for (int r = 0; r < RP; r++) a[r][c] = S::fma(pr[r], vv, a[r][c]);
      }
    }
    for (int r = 0; r < RP; r++) for (int c = 0; c < C; c++) S::store(acc[r] + c * W, a[r][c]);
  }

  /** qk_seq over R query rows, as many per pass over K as registers allow (needs
   *  row_order_fits(D)). Later passes re-read the block from L2. */
  template <int R, class Ld>
  static void qk_rows_ordered(const float *const *q, const typename Ld::T *K, int nb, int D, float scale, float *const *s) {
    if constexpr (W == 16) with_width(D, [&](auto Cc) {
      constexpr int C = decltype(Cc)::value, RP = C <= 8 ? 2 : 1;
      int r = 0;
      for (; r + RP <= R; r += RP) qk_seq<RP, C, Ld>(q + r, K, nb, scale, s + r);
      for (; r < R; r++) qk_seq<1, C, Ld>(q + r, K, nb, scale, s + r);
    });
  }

  /** pv_seq over R rows, 16 accumulator vectors per pass over V (needs row_order_fits(D)). */
  template <int R, class Ld>
  static void pv_rows_ordered(const float *const *p, const typename Ld::T *Vb, int nb, int D, float *const *acc) {
    if constexpr (W == 16) with_width(D, [&](auto Cc) {
      constexpr int C = decltype(Cc)::value, RP = 16 / C < R ? 16 / C : R;
      int r = 0;
      for (; r + RP <= R; r += RP) pv_seq<RP, C, Ld>(p + r, Vb, nb, acc + r);
      for (; r < R; r++) pv_seq<1, C, Ld>(p + r, Vb, nb, acc + r);
    });
  }

  /** Calls fn(std::integral_constant<int, C>) for D = C·W, C in {4, 8, 16}. */
  template <class F> static void with_width(int D, F &&fn) {
    if (D == 4 * W) fn(std::integral_constant<int, 4>{});
    else if (D == 8 * W) fn(std::integral_constant<int, 8>{});
    else fn(std::integral_constant<int, 16>{});
  }

  /** acc[r][d] += Σ_j p[r][j]·V[j][d] for r < R rows: each V vector load feeds R FMAs.
   *  nextV / rowBytes: the next block's V rows, prefetched into L2 while this block computes. */
  template <int R, class Ld = LoadF32<S>>
  static void pv_rows(const float *const *p, const typename Ld::T *Vb, int nb, int D, float *const *acc,
                      const char *nextV = nullptr, int rowBytes = 0) {
    pv_slots<R>(p, DenseRows<Ld>{Vb, D}, 0, nb, D, acc, nextV, rowBytes);
  }

  /** Rows of stride ld read through loader Ld: the dense case of pv_slots' row sets. */
  template <class Ld> struct DenseRows {
    const typename Ld::T *base;
    int ld;
    struct Row {
      const typename Ld::T *v;
      V vec(int c) const { return Ld::vec(v + c); }
      float one(int c) const { return Ld::one(v + c); }
    };
    Row at(int j) const { return {base + size_t(j) * ld}; }
    /** Brings row j into L1. */
    void touch(int j) const { prefetch_l1(base + size_t(j) * ld, int(sizeof(typename Ld::T)) * ld); }
  };

  /** Slots per P·V piece: the piece's rows (≤ 16 KiB for f32 rows of 128) stay in L1 while
   *  every channel chunk passes over them. */
  static constexpr int kPvPiece = 32;

  /** acc[r][d] += Σ_j p[r][j]·V_j[d] for r < R rows, j < nb, d < D, where V_j = Vr.at(j0 + j)
   *  (a row set: dense rows through a loader, DenseRows, or codes dequantised in the loads,
   *  coded_ops.h). Slots no row attends to are listed out once per 256; the live ones are
   *  taken kPvPiece at a time, each channel chunk of C vectors × R rows accumulating in
   *  registers over the piece. One chunk pass over all 256 rows missed L1 on every pass (f16
   *  decode stalled a third of its P·V time on those loads). next / nextRowBytes: rows of the
   *  next block, prefetched into L2 as the pieces advance (decode). */
  template <int R, class Rows>
  static void pv_slots(const float *const *p, const Rows &Vr, int j0, int nb, int D, float *const *acc,
                       const char *next = nullptr, int nextRowBytes = 0) {
    constexpr int kList = 256, C = W == 8 ? 2 : 4;  // C vectors of D per pass: R·C accumulators
    int16_t live[kList];
    for (int b = 0; b < nb; b += kList) {
      const int n = nb - b < kList ? nb - b : kList;
      int nl = 0;
      for (int j = 0; j < n; j++) {
        bool any = false;
        for (int r = 0; r < R; r++) any |= p[r][b + j] != 0.f;
        live[nl] = int16_t(j);
        nl += any ? 1 : 0;
      }
      int pf = 0;  // next-block rows prefetched so far
      for (int k0 = 0; k0 < nl; k0 += kPvPiece) {
        const int k1 = k0 + kPvPiece < nl ? k0 + kPvPiece : nl;
        if (next)
          for (const int pfEnd = k1 == nl ? n : live[k1 - 1] + 1; pf < pfEnd; pf++)
            for (int x = 0; x < nextRowBytes; x += 64) __builtin_prefetch(next + size_t(b + pf) * nextRowBytes + x, 0, PFL);
        // The next piece's rows into L1 while this one computes: each chunk pass touches one
        // line per row, a stride no hardware prefetcher followed.
        for (int k = k1; k < k1 + kPvPiece && k < nl; k++) Vr.touch(j0 + b + live[k]);
        if (k0 == 0)
          for (int k = 0; k < k1; k++) Vr.touch(j0 + b + live[k]);
        int d = 0;
        for (; d + C * W <= D; d += C * W) {
          V a[R][C];
          for (int r = 0; r < R; r++) for (int c = 0; c < C; c++) a[r][c] = S::load(acc[r] + d + c * W);
          for (int k = k0; k < k1; k++) {
            const int j = b + live[k];
            const typename Rows::Row row = Vr.at(j0 + j);
            V vv[C];
            for (int c = 0; c < C; c++) vv[c] = row.vec(d + c * W);
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
          for (int k = k0; k < k1; k++) {
            const int j = b + live[k];
            const V vv = Vr.at(j0 + j).vec(d);
            for (int r = 0; r < R; r++) a[r] = S::fma(S::set1(p[r][j]), vv, a[r]);
          }
          for (int r = 0; r < R; r++) S::store(acc[r] + d, a[r]);
        }
        for (; d < D; d++)
          for (int r = 0; r < R; r++) {
            float a = acc[r][d];
            for (int k = k0; k < k1; k++) a += p[r][b + live[k]] * Vr.at(j0 + b + live[k]).one(d);
            acc[r][d] = a;
          }
      }
      if (next)
        for (; pf < n; pf++)
          for (int x = 0; x < nextRowBytes; x += 64) __builtin_prefetch(next + size_t(b + pf) * nextRowBytes + x, 0, PFL);
    }
  }

  /** out[i] = silu(g[i]) · u[i]. */
  static void silu_mul(const float *g, const float *u, float *out, size_t n) {
    V one = S::set1(1.f), neg = S::set1(-1.f);
    size_t i = 0;
    for (; i + W <= n; i += W) {
      V gv = S::load(g + i);
      V e = S::exp(S::mul(gv, neg));
      S::store(out + i, S::mul(S::div(gv, S::add(one, e)), S::load(u + i)));
    }
    for (; i < n; i++) out[i] = g[i] / (1.f + std::exp(-g[i])) * u[i];
  }
};

}  // namespace kvp
