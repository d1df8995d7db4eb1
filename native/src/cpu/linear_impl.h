// Blocked GEMM/GEMV templated on one ISA: an MR×NR register tile of dot products over K,
// with 16-bit weight blocks widened to f32 once per task.
#pragma once
#include <algorithm>
#include <vector>
#include "linear_plan.h"
#include "vec_ops.h"

namespace kvp {

template <class S> struct LinearKernels {
  using O = Vec<S>;
  using V = typename S::V;
  static constexpr int W = S::W;
  // AVX2 has 16 vector registers: a 2×4 tile; the others (32 registers, or scalar) 4×4.
  static constexpr int MR = W == 8 ? 2 : 4;
  static constexpr int NR = 4;

  /** c[a][b] = x_a · w_b for a < MR rows of x (stride K) and b < NR rows of w (stride K). */
  static void tile(const float *x, const float *w, int K, float *c, int ldc) {
    V acc[MR][NR];
    for (int a = 0; a < MR; a++) for (int b = 0; b < NR; b++) acc[a][b] = S::zero();
    int k = 0;
    for (; k + W <= K; k += W) {
      V wv[NR];
      for (int b = 0; b < NR; b++) wv[b] = S::load(w + size_t(b) * K + k);
      for (int a = 0; a < MR; a++) {
        V xv = S::load(x + size_t(a) * K + k);
        for (int b = 0; b < NR; b++) acc[a][b] = S::fma(xv, wv[b], acc[a][b]);
      }
    }
    for (int a = 0; a < MR; a++)
      for (int b = 0; b < NR; b++) {
        float r = S::hsum(acc[a][b]);
        for (int kk = k; kk < K; kk++) r += x[size_t(a) * K + kk] * w[size_t(b) * K + kk];
        c[a * ldc + b] = r;
      }
  }

  /** Fewer rows of x than a tile (decode's GEMVs): each 16-bit weight row is widened inside
   *  its dot product. Widening the block to a scratch f32 copy first, as the tiled path does,
   *  writes and re-reads twice the weight bytes, and a GEMV reads each weight only once. */
  template <class Ld> static void rows16(const LinearPlan &p, int o0, int nb) {
    const auto *w = static_cast<const uint16_t *>(p.w) + size_t(o0) * p.K;
    for (int r = 0; r < p.m; r++)
      for (int o = 0; o < nb; o++)
        p.y[size_t(r) * p.N + o0 + o] = O::template dot_ld<Ld>(p.x + size_t(r) * p.K, w + size_t(o) * p.K, p.K) + (p.bias ? p.bias[o0 + o] : 0.f);
  }

  static void task(const LinearPlan &p, int t) {
    const int o0 = t * p.rowsPerTask, o1 = std::min(p.N, o0 + p.rowsPerTask), nb = o1 - o0, K = p.K;
    if (p.dtype != KVP_F32 && p.m < MR) {
      if (p.dtype == KVP_BF16) rows16<LoadBF16<S>>(p, o0, nb);
      else rows16<LoadF16<S>>(p, o0, nb);
      return;
    }
    thread_local std::vector<float> tmp;
    const float *wb;
    if (p.dtype == KVP_F32) {
      wb = static_cast<const float *>(p.w) + size_t(o0) * K;
    } else {
      tmp.resize(size_t(nb) * K);
      S::cvt16(static_cast<const uint16_t *>(p.w) + size_t(o0) * K, tmp.data(), nb * K, p.dtype == KVP_BF16);
      wb = tmp.data();
    }
    float c[MR * NR];
    int r = 0;
    for (; r + MR <= p.m; r += MR) {
      int o = 0;
      for (; o + NR <= nb; o += NR) {
        tile(p.x + size_t(r) * K, wb + size_t(o) * K, K, c, NR);
        for (int a = 0; a < MR; a++)
          for (int b = 0; b < NR; b++) p.y[size_t(r + a) * p.N + o0 + o + b] = c[a * NR + b] + (p.bias ? p.bias[o0 + o + b] : 0.f);
      }
      for (; o < nb; o++)
        for (int a = 0; a < MR; a++)
          p.y[size_t(r + a) * p.N + o0 + o] = O::dot(p.x + size_t(r + a) * K, wb + size_t(o) * K, K) + (p.bias ? p.bias[o0 + o] : 0.f);
    }
    for (; r < p.m; r++)
      for (int o = 0; o < nb; o++)
        p.y[size_t(r) * p.N + o0 + o] = O::dot(p.x + size_t(r) * K, wb + size_t(o) * K, K) + (p.bias ? p.bias[o0 + o] : 0.f);
  }
};

}  // namespace kvp
