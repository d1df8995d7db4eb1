// Scalar "vector" of width 1: the portable fallback and the shape every ISA header follows.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include "../half.h"

struct SimdScalar {
  static constexpr const char *name = "scalar";
  static constexpr int W = 1;
  using V = float;
  static V zero() { return 0.f; }
  static V set1(float x) { return x; }
  static V load(const float *p) { return *p; }
  static V load_f16(const uint16_t *p) { return kvp::f16_to_f32(*p); }
  static V load_bf16(const uint16_t *p) { return kvp::bf16_to_f32(*p); }
  /** Code loaders: element c of a code row as f32 (u8, e4m3 ÷ 2^8, packed 4- / 2-bit). */
  static V load_u8(const uint8_t *row, int c) { return float(row[c]); }
  static V load_e4m3_raw(const uint8_t *row, int c) { return kvp::e4m3_raw(row[c]); }
  static V load_u4(const uint8_t *row, int c) { return float((row[c >> 1] >> ((c & 1) * 4)) & 15); }
  static V load_u2(const uint8_t *row, int c) { return float((row[c >> 2] >> ((c & 3) * 2)) & 3); }
  /** Field k of byte p[0] (BITS-bit fields, little-endian). */
  template <int BITS> static V unpack(const uint8_t *p, int k) { return float((p[0] >> (k * BITS)) & ((1 << BITS) - 1)); }
  static void store(float *p, V v) { *p = v; }
  static V add(V a, V b) { return a + b; }
  static V mul(V a, V b) { return a * b; }
  static V div(V a, V b) { return a / b; }
  static V fma(V a, V b, V c) { return a * b + c; }
  static V max(V a, V b) { return a > b ? a : b; }
  static float hsum(V v) { return v; }
  static float hmax(V v) { return v; }
  static V exp(V x) { return std::exp(x); }
  /** dst[0..n) = f32 of n f16 (is_bf16 = false) or bf16 values. */
  static void cvt16(const uint16_t *src, float *dst, int n, bool is_bf16) {
    for (int i = 0; i < n; i++) dst[i] = is_bf16 ? kvp::bf16_to_f32(src[i]) : kvp::f16_to_f32(src[i]);
  }
};
