import { describe, expect, it } from 'vitest';
import { isVisualCode } from '../../src/cache/modality.js';
import { policies } from '../../src/policies/catalog.js';
import { planRetentiveKV, RETENTIVEKV_EARLIER_READING, retentiveKVOptions, type RetentiveKVOptions } from '../../src/policies/retention/retentive-kv.js';
import { StateSpaceMemory } from '../../src/ssm/state-memory.js';
import { buildLayer, causalFromWeights, context, randomRows, I, T } from './layer-fixture.js';

// These tests pin the earlier reading (no sinks, visual/other groups, one min-max scope, one
// root per segment); test/policies/retentive-kv-defects.test.ts covers the current defaults.
const opts = (o: Partial<RetentiveKVOptions> = {}): RetentiveKVOptions => retentiveKVOptions.parse({ ...RETENTIVEKV_EARLIER_READING, ...o });

/** 2 text, a 4×4 image (segment 0), 4 question tokens; the question favours a few patches. */
function imageLayer() {
  const modality = [T, T, ...new Array(16).fill(I), T, T, T, T];
  const n = modality.length;
  const row = modality.map((_, j) => (j >= 2 && j < 18 ? Math.floor((j - 2) / 4) : -1));
  const col = modality.map((_, j) => (j >= 2 && j < 18 ? (j - 2) % 4 : -1));
  const segment = row.map((r) => (r >= 0 ? 0 : -1));
  const favour = (j: number) => (j === 7 ? 6 : j === 12 ? 3 : j === 3 ? 2 : 1 + (j % 3) / 4);
  const att = causalFromWeights(n, (i, j) => (i >= 18 ? favour(j) : 1));
  const built = buildLayer({ headDim: 4, modality, row, col, segment, heads: [{ keys: randomRows(n, 4, 2), attention: att }] });
  return { ...built, modality, n, row, col };
}

const minMax = (x: number[]) => {
  const lo = Math.min(...x);
  const hi = Math.max(...x);
  return x.map((v) => (hi > lo ? (v - lo) / (hi - lo) : 0));
};

describe('RetentiveKV entropy-guided retention', () => {
  it('keeps the window plus the top slots by R = λ·α̃ + (1−λ)·H̃ (H from visual p = α/Σ_V α)', () => {
    const { view, stats, modality, n } = imageLayer();
    const alpha = Array.from(stats.textColumn![0]!);
    const sumV = alpha.reduce((s, a, j) => s + (isVisualCode(modality[j]!) ? a : 0), 0);
    const H = alpha.map((a, j) => (isVisualCode(modality[j]!) && a > 0 ? -(a / sumV) * Math.log(a / sumV) : 0));
    const R = minMax(alpha).map((x, j) => 0.5 * x + 0.5 * minMax(H)[j]!);
    const window = 4;
    const budget = 9;
    const older = Array.from({ length: n - window }, (_, j) => j).sort((a, b) => R[b]! - R[a]! || a - b);
    const expected = [...older.slice(0, budget - window), 18, 19, 20, 21].sort((a, b) => a - b);
    const plan = planRetentiveKV(context(view, stats, { budget }), opts({ window }))!;
    expect(Array.from(plan.heads[0]!.keep)).toEqual(expected);
    expect(expected).toContain(7); // the most attended patch
  });

  it('kernel > 1 pools R over neighbours before the top-k (ours): a run of evidence beats isolated spikes', () => {
    const modality = [...new Array(18).fill(I), T, T, T, T]; // only the question rows are text queries
    const n = modality.length;
    const favour = (j: number) => (j === 4 || j === 10 ? 5 : j >= 13 && j <= 15 ? 4 : 1);
    const att = causalFromWeights(n, (i, j) => (i >= 18 ? favour(j) : 1));
    const { view, stats } = buildLayer({ headDim: 4, modality, heads: [{ keys: randomRows(n, 4, 3), attention: att }] });
    const ctx = context(view, stats, { budget: 7 });
    const older = (plan: ReturnType<typeof planRetentiveKV>) => Array.from(plan!.heads[0]!.keep).filter((j) => j < 18);
    // Unpooled (the paper): the two spikes and one slot of the run.
    expect(older(planRetentiveKV(ctx, opts({ window: 4, entropy: false })))).toEqual([4, 10, 13]);
    // Pooled over 3: the run's centre scores 4, its edges 3, the spikes only 7/3.
    expect(older(planRetentiveKV(ctx, opts({ window: 4, entropy: false, kernel: 3 })))).toEqual([13, 14, 15]);
    expect(() => opts({ kernel: 2 })).toThrow(/odd/);
  });

  it('absorbs the evicted slots whose group entropy reaches the quantile, with attention × grid-decay strength', () => {
    const { view, stats, modality, n, row, col } = imageLayer();
    const budget = 8;
    const o = opts({ window: 4, absorbQuantile: 0.5, gridDecay: 0.5 });
    const hp = planRetentiveKV(context(view, stats, { budget }), o)!.heads[0]!;
    const keep = Array.from(hp.keep);
    const evicted = Array.from({ length: n }, (_, j) => j).filter((j) => !keep.includes(j));
    const alpha = Array.from(stats.textColumn![0]!);
    const groupOf = (j: number) => (isVisualCode(modality[j]!) ? 0 : 1);
    const sums = [0, 1].map((g) => alpha.reduce((s, a, j) => s + (groupOf(j) === g ? a : 0), 0));
    const H = alpha.map((a, j) => {
      const p = a / sums[groupOf(j)]!;
      return p > 0 ? -p * Math.log(p) : 0;
    });
    const median = (xs: number[]) => {
      const s = xs.slice().sort((a, b) => a - b);
      const pos = 0.5 * (s.length - 1);
      return s[Math.floor(pos)]! + (pos - Math.floor(pos)) * (s[Math.ceil(pos)]! - s[Math.floor(pos)]!);
    };
    const cut = [0, 1].map((g) => median(evicted.filter((j) => groupOf(j) === g).map((j) => H[j]!)));
    const absorbed = evicted.filter((j) => H[j]! >= cut[groupOf(j)]!);
    expect(Array.from(hp.retain!)).toEqual(absorbed);
    expect(absorbed.length).toBeLessThan(evicted.length);
    // Strength: cumulative / head max × 0.5^(Manhattan distance to the root patch = slot 7).
    const cum = Array.from(stats.cumulative![0]!);
    const maxCum = Math.max(...cum);
    absorbed.forEach((j, i) => {
      const grid = row[j]! >= 0 ? 0.5 ** (Math.abs(row[j]! - row[7]!) + Math.abs(col[j]! - col[7]!)) : 1;
      expect(hp.retainStrength![i]).toBeCloseTo((cum[j]! / maxCum) * grid, 6);
    });
  });

  it('ablations: without entropy R = α and every evicted slot is absorbed; off retains nothing; unified has no grid decay', () => {
    const { view, stats, n } = imageLayer();
    const ctx = context(view, stats, { budget: 8 });
    const plain = planRetentiveKV(ctx, opts({ window: 4, entropy: false }))!.heads[0]!;
    const alpha = Array.from(stats.textColumn![0]!);
    const older = Array.from({ length: n - 4 }, (_, j) => j).sort((a, b) => alpha[b]! - alpha[a]! || a - b);
    expect(Array.from(plain.keep)).toEqual([...older.slice(0, 4), 18, 19, 20, 21].sort((a, b) => a - b));
    expect(plain.retain!.length).toBe(n - 8);
    expect(planRetentiveKV(ctx, opts({ retrieval: 'off' }))!.heads[0]!.retain).toBeUndefined();
    const dual = planRetentiveKV(ctx, opts({ window: 4 }))!.heads[0]!;
    const unified = planRetentiveKV(ctx, opts({ window: 4, states: 'unified' }))!.heads[0]!;
    expect(Array.from(unified.retain!)).toEqual(Array.from(dual.retain!));
    const ratio = Array.from(dual.retainStrength!).map((s, i) => s / unified.retainStrength![i]!);
    expect(Math.min(...ratio)).toBeLessThan(1);
    expect(Math.max(...ratio)).toBeLessThanOrEqual(1);
  });

  it('also plans at decode (streaming eviction into the state) and leaves within-budget layers alone', () => {
    const { view, stats } = imageLayer();
    expect(planRetentiveKV(context(view, stats, { budget: 21, phase: 'decode' }), opts())!.heads[0]!.keep.length).toBe(21);
    expect(planRetentiveKV(context(view, stats, { budget: 22 }), opts())).toBeNull();
  });

  it('is registered with a state-space store bound to the model shape', () => {
    const env = { numLayers: 3, kvHeads: 2, qHeads: 4, headDim: 16, seed: 0 };
    const p = policies.create('retentivekv', { states: 'unified', entropy: false }, env);
    expect(p.needs).toEqual({ textColumn: true, cumulative: true, rowEntropy: true });
    expect(p.retention).toBeInstanceOf(StateSpaceMemory);
    const store = p.retention as StateSpaceMemory;
    expect(store.options).toMatchObject({ numLayers: 3, kvHeads: 2, headDim: 16, states: 'unified', decayWeight: 0, retrieval: 'gated' });
    expect(() => policies.create('retentivekv', { lambda: 2 }, env)).toThrow(/policies\.retentivekv\.lambda/);
  });
});
