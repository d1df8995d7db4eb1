// AVX-512F (+ F16C for the tail), 16 floats per vector; selected at run time.
#pragma once
#include <immintrin.h>
#include <cstdint>
#include "simd_exp.h"
#include "../half.h"

struct SimdAvx512 {
  static constexpr const char *name = "avx512";
  static constexpr int W = 16;
  using V = __m512;
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(float x) { return _mm512_set1_ps(x); }
  static V load(const float *p) { return _mm512_loadu_ps(p); }
  /** Code loaders: elements c..c+15 of a code row as f32 (c a multiple of 16 for packed codes). */
  static V load_u8(const uint8_t *row, int c) { return _mm512_cvtepi32_ps(u8x16(row + c)); }
  /** e4m3 codes as their value ÷ 2^8 (the caller folds 2^8 into the scale; exact for normal
   *  and subnormal codes, never a subnormal f32). */
  static V load_e4m3_raw(const uint8_t *row, int c) {
    // Half bits (kvp::e4m3_half_bits): code at the top of a 16-bit lane, arithmetic shift by 1,
    // the sign's copy at bit 14 cleared; then the widening conversion.
    const __m256i x = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i *>(row + c)));
    const __m256i h = _mm256_and_si256(_mm256_srai_epi16(_mm256_slli_epi16(x, 8), 1), _mm256_set1_epi16(int16_t(0xbfff)));
    return _mm512_cvtph_ps(h);
  }
  static V load_u4(const uint8_t *row, int c) {
    uint32_t u[2];
    __builtin_memcpy(u, row + c / 2, 8);
    const __m512i both = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi32(int(u[0]))), _mm256_set1_epi32(int(u[1])), 1);
    const __m512i x = _mm512_srlv_epi32(both, _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28));
    return _mm512_cvtepi32_ps(_mm512_and_si512(x, _mm512_set1_epi32(15)));
  }
  static V load_u2(const uint8_t *row, int c) {
    uint32_t u;
    __builtin_memcpy(&u, row + c / 4, 4);
    const __m512i x = _mm512_srlv_epi32(_mm512_set1_epi32(int(u)), _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30));
    return _mm512_cvtepi32_ps(_mm512_and_si512(x, _mm512_set1_epi32(3)));
  }
  /** Lane i = field k of byte p[i] (BITS-bit fields, little-endian): W codes of a packed row
   *  in unpacked order (coded_ops.h KiviKeyFold), one byte load per field. */
  template <int BITS> static V unpack(const uint8_t *p, int k) {
    const __m512i x = _mm512_srl_epi32(u8x16(p), _mm_cvtsi32_si128(k * BITS));
    return _mm512_cvtepi32_ps(_mm512_and_si512(x, _mm512_set1_epi32((1 << BITS) - 1)));
  }
  static __m512i u8x16(const uint8_t *p) { return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p))); }
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
