// AArch64 NEON (ASIMD, fp16 conversions are baseline on ARMv8), 4 floats per vector.
#pragma once
#include <arm_neon.h>
#include <cstdint>
#include "simd_exp.h"
#include "../half.h"

struct SimdNeon {
  static constexpr const char *name = "neon";
  static constexpr int W = 4;
  using V = float32x4_t;
  static V zero() { return vdupq_n_f32(0.f); }
  static V set1(float x) { return vdupq_n_f32(x); }
  static V load(const float *p) { return vld1q_f32(p); }
  /** Code loaders: elements c..c+3 of a code row as f32 (c a multiple of 4 for packed codes). */
  static V load_u8(const uint8_t *row, int c) { return vcvtq_f32_u32(u8x4(row + c)); }
  /** e4m3 codes as their value ÷ 2^8 (the caller folds 2^8 into the scale; exact for normal
   *  and subnormal codes, never a subnormal f32). */
  static V load_e4m3_raw(const uint8_t *row, int c) {
    // Half bits (kvp::e4m3_half_bits): code at the top of a 16-bit lane, arithmetic shift by 1,
    // the sign's copy at bit 14 cleared; then the widening conversion.
    uint32_t u;
    __builtin_memcpy(&u, row + c, 4);
    const uint16x4_t x = vget_low_u16(vmovl_u8(vcreate_u8(u)));
    const int16x4_t top = vshr_n_s16(vreinterpret_s16_u16(vshl_n_u16(x, 8)), 1);
    const uint16x4_t h = vand_u16(vreinterpret_u16_s16(top), vdup_n_u16(0xbfff));
    return vcvt_f32_f16(vreinterpret_f16_u16(h));
  }
  static V load_u4(const uint8_t *row, int c) {
    uint16_t u;
    __builtin_memcpy(&u, row + c / 2, 2);
    const int32x4_t shifts = {0, -4, -8, -12};
    return vcvtq_f32_u32(vandq_u32(vshlq_u32(vdupq_n_u32(u), shifts), vdupq_n_u32(15)));
  }
  static V load_u2(const uint8_t *row, int c) {
    const int32x4_t shifts = {0, -2, -4, -6};
    return vcvtq_f32_u32(vandq_u32(vshlq_u32(vdupq_n_u32(row[c / 4]), shifts), vdupq_n_u32(3)));
  }
  /** Lane i = field k of byte p[i] (BITS-bit fields, little-endian): W codes of a packed row
   *  in unpacked order (coded_ops.h KiviKeyFold), one byte load per field. */
  template <int BITS> static V unpack(const uint8_t *p, int k) {
    const uint32x4_t x = vshlq_u32(u8x4(p), vdupq_n_s32(-k * BITS));
    return vcvtq_f32_u32(vandq_u32(x, vdupq_n_u32((1u << BITS) - 1)));
  }
  static uint32x4_t u8x4(const uint8_t *p) {
    uint32_t u;
    __builtin_memcpy(&u, p, 4);
    return vmovl_u16(vget_low_u16(vmovl_u8(vcreate_u8(u))));
  }
  /** W f16 / bf16 values widened to f32 in the load. */
  static V load_f16(const uint16_t *p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))); }
  static V load_bf16(const uint16_t *p) { return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16)); }
  static void store(float *p, V v) { vst1q_f32(p, v); }
  static V add(V a, V b) { return vaddq_f32(a, b); }
  static V mul(V a, V b) { return vmulq_f32(a, b); }
  static V div(V a, V b) { return vdivq_f32(a, b); }
  static V fma(V a, V b, V c) { return vfmaq_f32(c, a, b); }
  static V max(V a, V b) { return vmaxq_f32(a, b); }
  static float hsum(V v) { return vaddvq_f32(v); }
  static float hmax(V v) { return vmaxvq_f32(v); }
  static V exp(V x) {
    using namespace kvp_exp;
    x = vminq_f32(vmaxq_f32(x, set1(lo)), set1(hi));
    V fx = vrndmq_f32(fma(x, set1(log2e), set1(0.5f)));
    x = vfmsq_f32(x, fx, set1(c1));
    x = vfmsq_f32(x, fx, set1(c2));
    V z = mul(x, x);
    V y = fma(set1(p0), x, set1(p1));
    y = fma(y, x, set1(p2));
    y = fma(y, x, set1(p3));
    y = fma(y, x, set1(p4));
    y = fma(y, x, set1(p5));
    y = fma(y, z, add(x, set1(1.f)));
    int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(fx), vdupq_n_s32(127)), 23);
    return mul(y, vreinterpretq_f32_s32(e));
  }
  static void cvt16(const uint16_t *src, float *dst, int n, bool is_bf16) {
    int i = 0;
    if (is_bf16) {
      for (; i + 4 <= n; i += 4) vst1q_f32(dst + i, vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(src + i), 16)));
    } else {
      for (; i + 4 <= n; i += 4) vst1q_f32(dst + i, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(src + i))));
    }
    for (; i < n; i++) {
      if (is_bf16) { uint32_t u = uint32_t(src[i]) << 16; __builtin_memcpy(dst + i, &u, 4); }
      else dst[i] = vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(src[i]))), 0);
    }
  }
};
