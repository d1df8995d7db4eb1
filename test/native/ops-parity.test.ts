/**
 * Native model ops vs src/attention/reference-ops.ts, and the cache-maintenance extras vs
 * plain JS, on every ISA this CPU runs. Tolerance: 1e-4 + 1e-4·|reference| (f32 sums in a
 * different order; 16-bit weights decode identically on both sides).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { KVDType, LinearWeight } from '../../src/attention/backend.js';
import { referenceLinear, referenceRmsNorm, referenceRope, referenceSiluMul } from '../../src/attention/reference-ops.js';
import { loadAddon } from '../../src/attention/native/addon.js';
import { NativeBackend } from '../../src/attention/native/native-backend.js';
import { allocKV, decodeToF32, encodeFromF32 } from '../../src/util/half.js';
import { mulberry32 } from '../../src/util/random.js';
import { availableIsas, worstRatio } from './fixtures.js';

const addon = loadAddon();

function randomArray(n: number, rand: () => number, lo = -1, hi = 1): Float32Array {
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * rand());
}

function weight(dtype: KVDType, outFeatures: number, inFeatures: number, rand: () => number): LinearWeight {
  const data = allocKV(dtype, outFeatures * inFeatures);
  encodeFromF32(randomArray(outFeatures * inFeatures, rand), dtype, data, 0);
  return { dtype, data, outFeatures, inFeatures };
}

describe.skipIf(!addon)('native model ops match reference-ops', () => {
  const isas = availableIsas((isa) => addon!.setIsa(isa));
  afterAll(() => addon!.setIsa(isas[isas.length - 1]!));

  for (const isa of isas) {
    it(`${isa}: linear (GEMV/GEMM, f32/f16/bf16, odd sizes, bias), rmsNorm, rope, siluMul`, () => {
      addon!.setIsa(isa);
      const be = new NativeBackend(addon!);
      const rand = mulberry32(17);
      for (const [m, out, inF] of [[1, 1, 1], [1, 37, 63], [3, 5, 7], [5, 17, 130], [8, 64, 128], [2, 33, 300], [13, 9, 16]] as const) {
        for (const dtype of ['f32', 'f16', 'bf16'] as const) {
          const w = weight(dtype, out, inF, rand);
          const x = randomArray(m * inF, rand);
          const bias = out % 2 ? randomArray(out, rand) : undefined;
          const label = `${isa} linear ${m}×${inF}→${out} ${dtype}`;
          expect(worstRatio(be.linear(x, m, w, bias), referenceLinear(x, m, w, bias), 1e-4, 1e-4), label).toBeLessThanOrEqual(1);
        }
      }
      const x = randomArray(7 * 77, rand, -2, 2);
      const g = randomArray(77, rand, 0.5, 1.5);
      expect(worstRatio(be.rmsNorm(x, 7, 77, g, 1e-5), referenceRmsNorm(x, 7, 77, g, 1e-5), 1e-5, 1e-5)).toBeLessThanOrEqual(1);
      const q = randomArray(3 * 2 * 10, rand);
      const cos = Float32Array.from({ length: 9 }, (_, i) => Math.cos(0.3 * i));
      const sin = Float32Array.from({ length: 9 }, (_, i) => Math.sin(0.3 * i));
      const a = q.slice();
      const b = q.slice();
      be.rope(a, 3, 2, 10, 6, cos, sin);
      referenceRope(b, 3, 2, 10, 6, cos, sin);
      expect(worstRatio(a, b, 1e-6, 1e-6)).toBeLessThanOrEqual(1);
      const gate = randomArray(1001, rand, -30, 30);
      const up = randomArray(1001, rand);
      expect(worstRatio(be.siluMul(gate, up), referenceSiluMul(gate, up), 1e-6, 1e-5)).toBeLessThanOrEqual(1);
    });
  }
});

describe.skipIf(!addon)('native cache maintenance', () => {
  it('compact moves the kept rows of one head to the front, in place', () => {
    const heads = 2, cap = 6, dim = 3;
    const rows = Float32Array.from({ length: heads * cap * dim }, (_, i) => i);
    const keep = Int32Array.from([0, 2, 5]);
    addon!.compact(rows, dim, heads, cap, 1, keep);
    for (let s = 0; s < 3; s++) for (let d = 0; d < dim; d++) expect(rows[(cap + s) * dim + d]).toBe((cap + keep[s]!) * dim + d);
    expect(Array.from(rows.subarray(0, cap * dim))).toEqual(Array.from({ length: cap * dim }, (_, i) => i));
    expect(() => addon!.compact(rows, dim, heads, cap, 0, Int32Array.from([3, 1]))).toThrow(/strictly increasing/);
  });

  it('merge writes the weighted sum of rows in the storage dtype', () => {
    const rand = mulberry32(4);
    for (const dtype of ['f32', 'f16', 'bf16'] as const) {
      const slots = 4, dim = 9;
      const rows = allocKV(dtype, slots * dim);
      encodeFromF32(randomArray(slots * dim, rand), dtype, rows, 0);
      const before = decodeToF32(rows, dtype, 0, slots * dim);
      addon!.merge(rows, dtype, slots, dim, 1, Int32Array.from([1, 3]), Float32Array.from([0.25, 0.75]));
      const after = decodeToF32(rows, dtype, 0, slots * dim);
      const want = Float32Array.from({ length: dim }, (_, d) => 0.25 * before[dim + d]! + 0.75 * before[3 * dim + d]!);
      const tol = dtype === 'f32' ? 1e-6 : dtype === 'f16' ? 1e-3 : 8e-3;
      expect(worstRatio(after.subarray(dim, 2 * dim), want, tol, 0), dtype).toBeLessThanOrEqual(1);
      expect(Array.from(after.subarray(0, dim))).toEqual(Array.from(before.subarray(0, dim)));
    }
  });

  it('nearestCosine agrees with brute force and topK keeps the k largest in index order', () => {
    const rand = mulberry32(8);
    const n = 20, m = 5, dim = 31;
    const x = randomArray(n * dim, rand);
    const piv = randomArray(m * dim, rand);
    const { index, similarity } = addon!.nearestCosine(x, 'f32', n, piv, 'f32', m, dim);
    for (let i = 0; i < n; i++) {
      let best = -2;
      let bi = -1;
      for (let j = 0; j < m; j++) {
        let dot = 0, nx = 0, np = 0;
        for (let d = 0; d < dim; d++) {
          dot += x[i * dim + d]! * piv[j * dim + d]!;
          nx += x[i * dim + d]! ** 2;
          np += piv[j * dim + d]! ** 2;
        }
        const c = dot / Math.sqrt(nx * np);
        if (c > best) [best, bi] = [c, j];
      }
      expect(index[i]).toBe(bi);
      expect(similarity[i]).toBeCloseTo(best, 5);
    }
    const scores = Float32Array.from([0.5, NaN, 2, 0.5, -1, 2, 0.5]);
    expect(Array.from(addon!.topK(scores, 4))).toEqual([0, 2, 3, 5]);
    expect(() => addon!.topK(scores, 8)).toThrow(/topK: k/);
  });
});
