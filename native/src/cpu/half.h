// Scalar IEEE half / bfloat16 (and fp8-e4m3 decode) codecs (round-to-nearest-even), for non-hot paths and tails.
#pragma once
#include <cstdint>
#include <cstring>

namespace kvp {

inline float bits_to_f32(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }
inline uint32_t f32_to_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }

inline float bf16_to_f32(uint16_t b) { return bits_to_f32(uint32_t(b) << 16); }

inline uint16_t f32_to_bf16(float x) {
  uint32_t u = f32_to_bits(x);
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x7fffffu)) return uint16_t(((u >> 16) | 0x40) & 0xffff);
  return uint16_t((u + 0x7fffu + ((u >> 16) & 1)) >> 16);
}

inline float f16_to_f32(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  if (exp == 0) {
    if (man == 0) return bits_to_f32(sign);
    float f = float(man) * (1.0f / 16777216.0f);  // subnormal: man × 2^-24
    return sign ? -f : f;
  }
  if (exp == 31) return bits_to_f32(sign | 0x7f800000u | (man << 13));
  return bits_to_f32(sign | ((exp + 112) << 23) | (man << 13));
}

inline uint16_t f32_to_f16(float x) {
  uint32_t u = f32_to_bits(x), sign = (u >> 16) & 0x8000;
  uint32_t a = u & 0x7fffffffu;
  if (a >= 0x7f800000u) return uint16_t(sign | 0x7c00 | (a > 0x7f800000u ? 0x200 : 0));
  if (a >= 0x477ff000u) return uint16_t(sign | 0x7c00);  // rounds to ≥ 65520: inf
  if (a < 0x38800000u) {                                    // subnormal or zero in f16
    if (a < 0x33000000u) return uint16_t(sign);             // < 2^-25 rounds to 0
    uint32_t e = a >> 23, m = (a & 0x7fffff) | 0x800000;
    uint32_t shift = 126 - e;                               // 14..24
    uint32_t r = m >> shift, rem = m & ((1u << shift) - 1), halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (r & 1))) r++;
    return uint16_t(sign | r);
  }
  uint32_t r = a - 0x38000000u;  // rebias exponent 127 → 15
  r = (r + 0xfff + ((r >> 13) & 1)) >> 13;
  return uint16_t(sign | r);
}

/** fp8 e4m3 (OCP E4M3FN) code → IEEE half bits of its value ÷ 2^8: sign to bit 15, exponent
 *  and mantissa to bits 13..7 (the half's exponent field is e4m3's plus 8 − 15 + 7 = bias
 *  difference 8). Exact for normal and subnormal codes, and the f32 a half widens to is never
 *  subnormal (subnormal f32 operands cost a microcode assist per instruction). The NaN codes
 *  0x7F / 0xFF, which no encoder here emits, decode to ±480. The SIMD loaders do the same. */
inline uint16_t e4m3_half_bits(uint8_t b) { return uint16_t((uint32_t(b & 0x80) << 8) | (uint32_t(b & 0x7f) << 7)); }
/** What the loaders return is the value ÷ kE4m3Raw. */
constexpr float kE4m3Raw = 256.f;
inline float e4m3_raw(uint8_t b) { return f16_to_f32(e4m3_half_bits(b)); }
inline float e4m3_to_f32(uint8_t b) { return e4m3_raw(b) * kE4m3Raw; }

}  // namespace kvp
