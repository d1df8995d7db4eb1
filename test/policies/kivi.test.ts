/** KIVI codec (Appendix B fixture 6): bounded round-trip error, full-precision residual, exact bytes. */
import { describe, expect, it } from 'vitest';
import { kiviBytes, kiviDequantize, kiviQuantize, kiviQuantizedTokens, type KiviOptions } from '../../src/cache/quantization/kivi.js';
import { randomNormalArray } from '../../src/util/random.js';

describe('KIVI', () => {
  const len = 200;
  const d = 40; // not a multiple of the group: the last value group is short
  const keys = randomNormalArray(len * d, 1);
  const values = randomNormalArray(len * d, 2);
  it.each([2, 4, 8] as const)('%i bits: error ≤ half a step per group, residual exact', (bits) => {
    const o: KiviOptions = { bits, group: 32, residual: 64 };
    const q = kiviQuantize(keys, values, len, d, o);
    expect(q.quantized).toBe(128); // ⌊(200 − 64)/32⌋·32; residual 72 ∈ [R, R + G)
    const r = kiviDequantize(q);
    for (let t = 0; t < len; t++) {
      for (let c = 0; c < d; c++) {
        const i = t * d + c;
        if (t >= q.quantized) {
          expect(r.keys[i]).toBe(keys[i]);
          expect(r.values[i]).toBe(values[i]);
          continue;
        }
        const ks = q.keyScale[Math.floor(t / 32) * d + c]!; // per channel over 32 tokens
        const vs = q.valueScale[t * 2 + Math.floor(c / 32)]!; // per token over 32 channels
        expect(Math.abs(r.keys[i]! - keys[i]!)).toBeLessThanOrEqual(ks / 2 + 1e-6);
        expect(Math.abs(r.values[i]! - values[i]!)).toBeLessThanOrEqual(vs / 2 + 1e-6);
      }
    }
  });
  it('keys are per-channel: a channel with a large offset does not spoil the others', () => {
    const k = new Float32Array(64 * 4).map((_, i) => (i % 4 === 0 ? 100 : 0) + ((i * 7) % 5) * 0.01);
    const q = kiviQuantize(k, k, 64, 4, { bits: 2, group: 32, residual: 0 });
    const r = kiviDequantize(q).keys;
    for (let i = 0; i < k.length; i++) expect(Math.abs(r[i]! - k[i]!)).toBeLessThanOrEqual(0.04 / 3 / 2 + 1e-5);
  });
  it('counts exact bytes: 2-bit codes plus f32 scales and minima plus the f32 residual', () => {
    const q = kiviQuantize(keys, values, len, d, { bits: 2, group: 32, residual: 64 });
    const codes = 2 * (128 * d * 2) / 8;
    const keyParams = 2 * (128 / 32) * d * 4;
    const valueParams = 2 * 128 * 2 * 4;
    const residual = 2 * 72 * d * 4;
    expect(kiviBytes(q)).toBe(codes + keyParams + valueParams + residual);
    expect(kiviQuantizedTokens(31, { bits: 2, group: 32, residual: 0 })).toBe(0);
  });
  it('rejects bad options naming the field', () => {
    expect(() => kiviQuantize(keys, values, len, d, { bits: 3 as 2, group: 32, residual: 0 })).toThrow(/bits must be 2, 4 or 8; got 3/);
    expect(() => kiviQuantize(keys, values, len, d, { bits: 2, group: 0, residual: 0 })).toThrow(/group must be a whole number ≥ 1/);
    expect(() => kiviQuantize(keys, values, len + 1, d)).toThrow(/must hold len × headDim/);
  });
});
