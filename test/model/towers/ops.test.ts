import { describe, expect, it } from 'vitest';
import { tsBackend } from '../../../src/attention/ts-backend.js';
import { avgPoolPairs, conv1d, erf, layerNorm } from '../../../src/model/towers/ops.js';

describe('tower ops', () => {
  it('erf is within 2e-7 of tabulated values', () => {
    const table: [number, number][] = [[0, 0], [0.1, 0.1124629160182849], [0.5, 0.5204998778130465], [1, 0.8427007929497149], [-2, -0.9953222650189527], [3.5, 0.9999992569016276]];
    for (const [x, want] of table) expect(Math.abs(erf(x) - want), `erf(${x})`).toBeLessThan(2e-7);
  });

  it('conv1d as a GEMM equals the direct sum (kernel 3, stride 2, padding 1, odd length)', () => {
    const len = 7, inCh = 2, outCh = 3, k = 3;
    const x = Float32Array.from({ length: len * inCh }, (_, i) => Math.sin(i + 1));
    const w = Float32Array.from({ length: outCh * inCh * k }, (_, i) => Math.cos(i * 0.7));
    const bias = Float32Array.from([0.1, -0.2, 0.3]);
    const y = conv1d(tsBackend, x, len, inCh, { dtype: 'f32', data: w, outFeatures: outCh, inFeatures: inCh * k }, bias, k, 2, 1);
    expect(y.length).toBe(4 * outCh); // floor((7 + 2 − 3) / 2) + 1
    for (let j = 0; j < 4; j++) {
      for (let o = 0; o < outCh; o++) {
        let s = bias[o]!;
        for (let c = 0; c < inCh; c++) for (let t = 0; t < k; t++) {
          const at = 2 * j + t - 1;
          if (at >= 0 && at < len) s += w[(o * inCh + c) * k + t]! * x[at * inCh + c]!;
        }
        expect(y[j * outCh + o]).toBeCloseTo(s, 5);
      }
    }
  });

  it('layerNorm and pair pooling', () => {
    const y = layerNorm(Float32Array.from([1, 2, 3, 4]), 1, 4, Float32Array.from([1, 1, 2, 2]), Float32Array.from([0, 0, 0, 1]), 0);
    const sd = Math.sqrt(1.25);
    expect(Array.from(y).map((v) => +v.toFixed(5))).toEqual([-1.5 / sd, -0.5 / sd, 1 / sd, 3 / sd + 1].map((v) => +v.toFixed(5)));
    expect(Array.from(avgPoolPairs(Float32Array.from([1, 2, 3, 4, 5, 6]), 3, 2))).toEqual([2, 3]); // odd last row dropped
  });
});
