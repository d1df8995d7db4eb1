/**
 * fp8 e4m3 (OCP "E4M3FN", the format MNN-LLM and NVIDIA Hopper use for values): 1 sign bit,
 * 4 exponent bits (bias 7), 3 mantissa bits, no infinities; 0x7F / 0xFF are NaN, so the largest
 * finite magnitude is 448 (0x7E). Encoding rounds to nearest, ties to the even code, and
 * saturates at ±448. Relative error ≤ 2^-4 for |x| ≥ 2^-6 (normal range); below that
 * (subnormals, step 2^-9) the absolute error is ≤ 2^-10.
 */
export const FP8_E4M3_MAX = 448;

/** Code → value for the 256 codes (NaN codes decode to NaN; the encoder never emits them). */
const DECODE = (() => {
  const t = new Float32Array(256);
  for (let c = 0; c < 256; c++) {
    const e = (c >> 3) & 0xf;
    const m = c & 7;
    const mag = e === 0 ? m * 2 ** -9 : (1 + m / 8) * 2 ** (e - 7);
    t[c] = (c & 0x7f) === 0x7f ? Number.NaN : c & 0x80 ? -mag : mag;
  }
  return t;
})();

export function fp8E4m3ToF32(code: number): number {
  return DECODE[code & 0xff]!;
}

/** f32 → e4m3 code (round to nearest, ties to even; saturating; NaN is rejected by callers). */
export function f32ToFp8E4m3(x: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x80 : 0;
  const a = Math.abs(x);
  if (!(a < FP8_E4M3_MAX)) return sign | 0x7e;
  // Binary search over the ascending positive codes 0..0x7E for the nearest value.
  let lo = 0;
  let hi = 0x7e;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (DECODE[mid]! <= a) lo = mid;
    else hi = mid;
  }
  const dLo = a - DECODE[lo]!;
  const dHi = DECODE[hi]! - a;
  const code = dLo < dHi ? lo : dHi < dLo ? hi : lo % 2 === 0 ? lo : hi;
  return sign | code;
}
