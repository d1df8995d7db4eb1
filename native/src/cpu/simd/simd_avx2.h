// AVX2 + FMA + F16C, 8 floats per vector. Compiled only into TUs built with -mavx2 -mfma -mf16c.
#pragma once
#include <immintrin.h>
#include <cstdint>
#include "simd_exp.h"
#include "../half.h"

struct SimdAvx2 {
  static constexpr const char *name = "avx2";
  static constexpr int W = 8;
  using V = __m256;
  static V zero() { return _mm256_setzero_ps(); }
  static V set1(float x) { return _mm256_set1_ps(x); }
  /** W f16 / bf16 values widened to f32 in the load. */
  static V load_f16(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p))); }
  static V load_bf16(const uint16_t *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p))), 16));
  }
  static V load(const float *p) { return _mm256_loadu_ps(p); }
  /** Code loaders: elements c..c+7 of a code row as f32 (c a multiple of 8 for packed codes). */
  static V load_u8(const uint8_t *row, int c) { return _mm256_cvtepi32_ps(u8x8(row + c)); }
  /** e4m3 codes as their value ÷ 2^8 (the caller folds 2^8 into the scale; exact for normal
   *  and subnormal codes, never a subnormal f32). */
  static V load_e4m3_raw(const uint8_t *row, int c) {
    // Half bits (kvp::e4m3_half_bits): code at the top of a 16-bit lane, arithmetic shift by 1,
    // the sign's copy at bit 14 cleared; then the F16C widening.
    const __m128i x = _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i *>(row + c)));
    const __m128i h = _mm_and_si128(_mm_srai_epi16(_mm_slli_epi16(x, 8), 1), _mm_set1_epi16(int16_t(0xbfff)));
    return _mm256_cvtph_ps(h);
  }
  static V load_u4(const uint8_t *row, int c) {
    uint32_t u;
    __builtin_memcpy(&u, row + c / 2, 4);
    const __m256i x = _mm256_srlv_epi32(_mm256_set1_epi32(int(u)), _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28));
    return _mm256_cvtepi32_ps(_mm256_and_si256(x, _mm256_set1_epi32(15)));
  }
  static V load_u2(const uint8_t *row, int c) {
    uint16_t u;
    __builtin_memcpy(&u, row + c / 4, 2);
    const __m256i x = _mm256_srlv_epi32(_mm256_set1_epi32(u), _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14));
    return _mm256_cvtepi32_ps(_mm256_and_si256(x, _mm256_set1_epi32(3)));
  }
  /** Lane i = field k of byte p[i] (BITS-bit fields, little-endian): W codes of a packed row
   *  in unpacked order (coded_ops.h KiviKeyFold), one byte load per field. */
  template <int BITS> static V unpack(const uint8_t *p, int k) {
    const __m256i x = _mm256_srl_epi32(u8x8(p), _mm_cvtsi32_si128(k * BITS));
    return _mm256_cvtepi32_ps(_mm256_and_si256(x, _mm256_set1_epi32((1 << BITS) - 1)));
  }
  static __m256i u8x8(const uint8_t *p) { return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i *>(p))); }
  static void store(float *p, V v) { _mm256_storeu_ps(p, v); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V div(V a, V b) { return _mm256_div_ps(a, b); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  static float hsum(V v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  /** out[i] = Σ lanes of v[i], i < 8: one transpose-add tree instead of 8 reductions. */
  static void hsum8(const V *v, float *out) {
    V x[4];
    for (int i = 0; i < 4; i++) x[i] = add(_mm256_unpacklo_ps(v[2 * i], v[2 * i + 1]), _mm256_unpackhi_ps(v[2 * i], v[2 * i + 1]));
    const V y0 = add(_mm256_shuffle_ps(x[0], x[1], 0x44), _mm256_shuffle_ps(x[0], x[1], 0xEE));
    const V y1 = add(_mm256_shuffle_ps(x[2], x[3], 0x44), _mm256_shuffle_ps(x[2], x[3], 0xEE));
    store(out, add(_mm256_permute2f128_ps(y0, y1, 0x20), _mm256_permute2f128_ps(y0, y1, 0x31)));
  }
  static float hmax(V v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static V exp(V x) {
    using namespace kvp_exp;
    x = _mm256_min_ps(_mm256_max_ps(x, set1(lo)), set1(hi));
    V fx = _mm256_floor_ps(fma(x, set1(log2e), set1(0.5f)));
    x = _mm256_fnmadd_ps(fx, set1(c1), x);
    x = _mm256_fnmadd_ps(fx, set1(c2), x);
    V z = mul(x, x);
    V y = fma(set1(p0), x, set1(p1));
    y = fma(y, x, set1(p2));
    y = fma(y, x, set1(p3));
    y = fma(y, x, set1(p4));
    y = fma(y, x, set1(p5));
    y = fma(y, z, add(x, set1(1.f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(fx), _mm256_set1_epi32(127)), 23);
    return mul(y, _mm256_castsi256_ps(e));
  }
  static void cvt16(const uint16_t *src, float *dst, int n, bool is_bf16) {
    int i = 0;
    if (is_bf16) {
      for (; i + 8 <= n; i += 8) {
        __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(src + i)));
        _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(w, 16)));
      }
      for (; i < n; i++) { uint32_t u = uint32_t(src[i]) << 16; __builtin_memcpy(dst + i, &u, 4); }
    } else {
      for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(src + i))));
      for (; i < n; i++) dst[i] = _cvtsh_ss(src[i]);
    }
  }
};
