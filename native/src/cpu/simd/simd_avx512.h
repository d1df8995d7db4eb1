// AVX-512F (+ F16C for the tail), 16 floats per vector; selected at run time.
#pragma once
#include <immintrin.h>
#include <cstdint>
#include "simd_exp.h"

struct SimdAvx512 {
  static constexpr const char *name = "avx512";
  static constexpr int W = 16;
  using V = __m512;
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(float x) { return _mm512_set1_ps(x); }
  static V load(const float *p) { return _mm512_loadu_ps(p); }
  /** W f16 / bf16 values widened to f32 in the load (no round trip through a buffer). */
  static V load_f16(const uint16_t *p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(p))); }
  static V load_bf16(const uint16_t *p) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(p))), 16));
  }
  static void store(float *p, V v) { _mm512_storeu_ps(p, v); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V div(V a, V b) { return _mm512_div_ps(a, b); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
  static float hsum(V v) { return _mm512_reduce_add_ps(v); }
  /** out[i] = Σ lanes of v[i], i < 16: one transpose-add tree instead of 16 reductions. */
  static void hsum16(const V *v, float *out) {
    V x[8], y[4];
    for (int i = 0; i < 8; i++) x[i] = add(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
    for (int i = 0; i < 4; i++) y[i] = add(_mm512_shuffle_ps(x[2 * i], x[2 * i + 1], 0x44), _mm512_shuffle_ps(x[2 * i], x[2 * i + 1], 0xEE));
    V z0 = add(_mm512_shuffle_f32x4(y[0], y[1], 0x88), _mm512_shuffle_f32x4(y[0], y[1], 0xDD));
    V z1 = add(_mm512_shuffle_f32x4(y[2], y[3], 0x88), _mm512_shuffle_f32x4(y[2], y[3], 0xDD));
    store(out, add(_mm512_shuffle_f32x4(z0, z1, 0x88), _mm512_shuffle_f32x4(z0, z1, 0xDD)));
  }
  static float hmax(V v) { return _mm512_reduce_max_ps(v); }
  static V exp(V x) {
    using namespace kvp_exp;
    x = _mm512_min_ps(_mm512_max_ps(x, set1(lo)), set1(hi));
    V fx = _mm512_roundscale_ps(fma(x, set1(log2e), set1(0.5f)), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    x = _mm512_fnmadd_ps(fx, set1(c1), x);
    x = _mm512_fnmadd_ps(fx, set1(c2), x);
    V z = mul(x, x);
    V y = fma(set1(p0), x, set1(p1));
    y = fma(y, x, set1(p2));
    y = fma(y, x, set1(p3));
    y = fma(y, x, set1(p4));
    y = fma(y, x, set1(p5));
    y = fma(y, z, add(x, set1(1.f)));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvttps_epi32(fx), _mm512_set1_epi32(127)), 23);
    return mul(y, _mm512_castsi512_ps(e));
  }
  static void cvt16(const uint16_t *src, float *dst, int n, bool is_bf16) {
    int i = 0;
    if (is_bf16) {
      for (; i + 16 <= n; i += 16) {
        __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(src + i)));
        _mm512_storeu_ps(dst + i, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)));
      }
      for (; i < n; i++) { uint32_t u = uint32_t(src[i]) << 16; __builtin_memcpy(dst + i, &u, 4); }
    } else {
      for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(src + i))));
      for (; i < n; i++) dst[i] = _cvtsh_ss(src[i]);
    }
  }
};
