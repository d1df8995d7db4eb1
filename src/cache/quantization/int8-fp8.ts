/**
 * MNN-LLM's KV storage — "MNN-LLM: A Generic Inference Engine for Fast Large Language Model
 * Deployment on Mobile Devices" (Wang et al., arXiv 2506.10443): keys int8, values fp8. This is
 * the codec of one token row of one KV head.
 *
 * Ours where the paper is silent: keys are asymmetric uint8 codes (x ≈ min + scale·code,
 * code 0..255) with f32 scale and minimum per group of G channels of the token; values are
 * fp8-e4m3 codes of x / scale with one f32 scale per group of G channels of the token
 * (scale = max|x| / 448, so the group's largest value lands on e4m3's largest). Scales are per
 * token so a slot never shares state with another: evicting, moving or re-encoding one slot
 * touches nothing else. Error: keys ≤ scale/2 per element; values ≤ 2^-4 relative (2^-10·scale
 * absolute in e4m3's subnormal range).
 */
import { f32ToFp8E4m3, fp8E4m3ToF32, FP8_E4M3_MAX } from './fp8-e4m3.js';
import { groupRange } from './kivi.js';

/**
 * Encodes one key row x [headDim] f32 (from xOff) into codes [headDim] at cOff and
 * (scale, min) pairs [⌈headDim/G⌉][2] at sOff.
 */
export function encodeInt8Row(x: Float32Array, xOff: number, d: number, group: number, codes: Uint8Array, cOff: number, scaleMin: Float32Array, sOff: number): void {
  for (let g = 0, c0 = 0; c0 < d; g++, c0 += group) {
    const c1 = Math.min(d, c0 + group);
    const [lo, hi] = groupRange(x, xOff + c0, c1 - c0);
    const scale = Math.fround(hi > lo ? (hi - lo) / 255 : 0);
    const min = Math.fround(lo);
    scaleMin[sOff + 2 * g] = scale;
    scaleMin[sOff + 2 * g + 1] = min;
    for (let c = c0; c < c1; c++) codes[cOff + c] = scale > 0 ? Math.min(255, Math.max(0, Math.round((x[xOff + c]! - min) / scale))) : 0;
  }
}

/** Decodes a key row written by encodeInt8Row into out [headDim] at oOff. */
export function decodeInt8Row(codes: Uint8Array, cOff: number, scaleMin: Float32Array, sOff: number, d: number, group: number, out: Float32Array, oOff: number): void {
  for (let c = 0; c < d; c++) {
    const g = Math.floor(c / group);
    out[oOff + c] = scaleMin[sOff + 2 * g + 1]! + scaleMin[sOff + 2 * g]! * codes[cOff + c]!;
  }
}

/** Encodes one value row x [headDim] f32 into e4m3 codes [headDim] at cOff and scales [⌈headDim/G⌉] at sOff. */
export function encodeFp8Row(x: Float32Array, xOff: number, d: number, group: number, codes: Uint8Array, cOff: number, scales: Float32Array, sOff: number): void {
  for (let g = 0, c0 = 0; c0 < d; g++, c0 += group) {
    const c1 = Math.min(d, c0 + group);
    let amax = 0;
    for (let c = c0; c < c1; c++) amax = Math.max(amax, Math.abs(x[xOff + c]!));
    const scale = Math.fround(amax / FP8_E4M3_MAX);
    scales[sOff + g] = scale;
    for (let c = c0; c < c1; c++) codes[cOff + c] = scale > 0 ? f32ToFp8E4m3(x[xOff + c]! / scale) : 0;
  }
}

/** Decodes a value row written by encodeFp8Row into out [headDim] at oOff. */
export function decodeFp8Row(codes: Uint8Array, cOff: number, scales: Float32Array, sOff: number, d: number, group: number, out: Float32Array, oOff: number): void {
  for (let c = 0; c < d; c++) out[oOff + c] = scales[sOff + Math.floor(c / group)]! * fp8E4m3ToF32(codes[cOff + c]!);
}
