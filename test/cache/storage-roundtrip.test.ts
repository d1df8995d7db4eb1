/**
 * Round-trip error bounds of every quantized storage kind through a real LayerCache: int8
 * keys ≤ scale/2, fp8-e4m3 values ≤ 2^-4 relative (2^-10·scale in the subnormal range), KIVI
 * ≤ half a step of each (token group, channel) / (token, channel group), residual exact.
 */
import { describe, expect, it } from 'vitest';
import { f32ToFp8E4m3, fp8E4m3ToF32, FP8_E4M3_MAX } from '../../src/cache/quantization/fp8-e4m3.js';
import { filledCache, headRows } from './storage-fixtures.js';

const KVH = 2;
const D = 11; // odd: the last channel group is short

/** max − min of x[at(i)] for i in [0, n). */
function range(n: number, at: (i: number) => number, x: Float32Array): { lo: number; hi: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    lo = Math.min(lo, x[at(i)]!);
    hi = Math.max(hi, x[at(i)]!);
  }
  return { lo, hi };
}

describe('fp8 e4m3', () => {
  it('decodes the format exactly: max 448, min normal 2^-6, min subnormal 2^-9, NaN codes', () => {
    expect(fp8E4m3ToF32(0x7e)).toBe(448);
    expect(fp8E4m3ToF32(0x08)).toBe(2 ** -6);
    expect(fp8E4m3ToF32(0x01)).toBe(2 ** -9);
    expect(fp8E4m3ToF32(0xb8)).toBe(-1);
    expect(fp8E4m3ToF32(0x7f)).toBeNaN();
  });
  it('rounds to nearest with ties to even and saturates at 448', () => {
    expect(fp8E4m3ToF32(f32ToFp8E4m3(1 + 1 / 16))).toBe(1); // tie between 1 (even code) and 1.125
    expect(fp8E4m3ToF32(f32ToFp8E4m3(1 + 3 / 16))).toBe(1.25); // tie between 1.125 (odd) and 1.25
    expect(fp8E4m3ToF32(f32ToFp8E4m3(1e6))).toBe(FP8_E4M3_MAX);
    expect(fp8E4m3ToF32(f32ToFp8E4m3(-500))).toBe(-FP8_E4M3_MAX);
    for (let x = 2 ** -6; x < 448; x *= 1.0137) expect(Math.abs(fp8E4m3ToF32(f32ToFp8E4m3(x)) - x)).toBeLessThanOrEqual(2 ** -4 * x);
  });
});

describe('int8-fp8 storage', () => {
  it.each([1, 4, 32])('G=%i: keys within scale/2, values within 2^-4 relative', (G) => {
    const n = 9;
    const { cache, k, v } = filledCache({ kind: 'int8-fp8', group: G }, n, KVH, D, 3);
    for (let h = 0; h < KVH; h++) {
      const kIn = headRows(k, n, KVH, D, h);
      const vIn = headRows(v, n, KVH, D, h);
      const kOut = cache.view().keys(h);
      const vOut = cache.view().values(h);
      for (let t = 0; t < n; t++) {
        for (let c0 = 0; c0 < D; c0 += G) {
          const w = Math.min(G, D - c0);
          const { lo, hi } = range(w, (i) => t * D + c0 + i, kIn);
          const amax = Math.max(Math.abs(lo), Math.abs(hi));
          const { lo: vlo, hi: vhi } = range(w, (i) => t * D + c0 + i, vIn);
          const vScale = Math.max(Math.abs(vlo), Math.abs(vhi)) / FP8_E4M3_MAX;
          for (let c = c0; c < c0 + w; c++) {
            const i = t * D + c;
            expect(Math.abs(kOut[i]! - kIn[i]!)).toBeLessThanOrEqual((hi - lo) / 255 / 2 + 1e-6 * amax);
            const bound = Math.max(2 ** -4 * Math.abs(vIn[i]!), 2 ** -10 * vScale);
            expect(Math.abs(vOut[i]! - vIn[i]!)).toBeLessThanOrEqual(bound * (1 + 1e-5));
          }
        }
      }
    }
  });
});

describe.each([
  { kind: 'int4' as const, bits: 4 },
  { kind: 'int2' as const, bits: 2 },
])('KIVI $kind storage', ({ kind, bits }) => {
  const levels = 2 ** bits - 1;
  it.each([
    { G: 4, R: 3, n: 20 },
    { G: 5, R: 0, n: 10 },
    { G: 3, R: 8, n: 7 },
  ])('G=$G R=$R n=$n: coded tokens within half a step, residual exact', ({ G, R, n }) => {
    const { cache, k, v } = filledCache({ kind, group: G, residual: R }, n, KVH, D, 5);
    const coded = Math.floor(Math.max(0, n - R) / G) * G;
    for (let h = 0; h < KVH; h++) {
      const kIn = headRows(k, n, KVH, D, h);
      const vIn = headRows(v, n, KVH, D, h);
      const kOut = cache.view().keys(h);
      const vOut = cache.view().values(h);
      expect(kOut.length).toBe(n * D);
      for (let t = 0; t < n; t++) {
        for (let c = 0; c < D; c++) {
          const i = t * D + c;
          if (t >= coded) {
            expect(kOut[i]).toBe(kIn[i]);
            expect(vOut[i]).toBe(vIn[i]);
            continue;
          }
          const g0 = Math.floor(t / G) * G;
          const kr = range(G, (j) => (g0 + j) * D + c, kIn);
          const c0 = Math.floor(c / G) * G;
          const vr = range(Math.min(G, D - c0), (j) => t * D + c0 + j, vIn);
          expect(Math.abs(kOut[i]! - kIn[i]!)).toBeLessThanOrEqual((kr.hi - kr.lo) / levels / 2 + 1e-5);
          expect(Math.abs(vOut[i]! - vIn[i]!)).toBeLessThanOrEqual((vr.hi - vr.lo) / levels / 2 + 1e-5);
        }
      }
    }
  });
});
