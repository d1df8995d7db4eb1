/** Defining behaviour of the merging baselines: what they keep, what they merge and why. */
import { describe, expect, it } from 'vitest';
import { NUM_MODALITIES } from '../../src/cache/modality.js';
import { allocTokenMeta } from '../../src/cache/token-meta.js';
import { policies } from '../../src/policies/catalog.js';
import type { MergeOp, Plan, PolicyContext } from '../../src/cache/policy-api.js';
import { validatePlan } from '../../src/policies/parts/plan.js';
import { applyMergesReference, makeCtx, makeStats, makeView } from './fixtures.js';

const env = { numLayers: 2, kvHeads: 1, qHeads: 1, headDim: 2, seed: 1 };
const plan = (name: string, opts: object, ctx: PolicyContext): Plan => {
  const p = policies.create(name, opts, env).plan(ctx);
  validatePlan(p, [ctx.view.length(0)]);
  return p;
};
const ops = (p: Plan): [number, number[]][] => (p!.heads[0]!.merges ?? []).map((m) => [m.into, Array.from(m.from)]);

describe('LOOK-M', () => {
  const modality = [0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0];
  const keys = [[1, 0], [0, 1], [-1, 0], [1, 0.05], [1, 0.06], [0.05, 1], [-1, 0.02], [0.5, 0.6], [0, -1], [0, -1], [0.7, -0.7], [-0.7, -0.7]];
  const cumulative = [0.1, 0.1, 0.1, 5, 5, 5, 5, 5, 5, 0.1, 0.1, 0.1];
  const view = makeView([{ keys, modality, cumulative }]);
  it('keeps all text first (even below image scores), then the recent window', () => {
    const p = plan('look-m', {}, makeCtx(view, makeStats({}), 6));
    expect([...p!.heads[0]!.keep]).toEqual([0, 1, 2, 9, 10, 11]);
    const noPrior = plan('look-m', { textPrior: false }, makeCtx(view, makeStats({}), 6));
    expect([...noPrior!.heads[0]!.keep]).toEqual([3, 4, 5, 9, 10, 11]);
  });
  it('merges each evicted image into its most key-similar kept slot; average filters below-mean similarity', () => {
    // best similarities: 3,4 → 0 (≈0.999), 5 → 1, 6 → 2, 8 → 9 (1.0), 7 → 1 (0.77, below the mean ≈ 0.96)
    expect(ops(plan('look-m', { merge: 'average' }, makeCtx(view, makeStats({}), 6)))).toEqual([[0, [3, 4]], [1, [5]], [2, [6]], [9, [8]]]);
    const piv = plan('look-m', { merge: 'pivotal' }, makeCtx(view, makeStats({}), 6));
    expect(ops(piv)).toEqual([[0, [3, 4]], [1, [5, 7]], [2, [6]], [9, [8]]]);
    // pivotal algebra on the values: (t + Σ (e + t)/2) / (1 + n)
    const x = keys.map((k) => k.slice());
    const merged = applyMergesReference(x, new Array(12).fill(1), piv!.heads[0]!.merges as MergeOp[]);
    expect(merged[1]![0]).toBeCloseTo((x[1]![0]! + (x[5]![0]! + x[1]![0]!) / 2 + (x[7]![0]! + x[1]![0]!) / 2) / 3, 6);
  });
});

describe('CaM', () => {
  const keys = Array.from({ length: 10 }, (_, i) => [1, i]);
  const values = Array.from({ length: 10 }, (_, i) => [i, 1]);
  const scores = (evicted: number) => [1, ...new Array<number>(6).fill(evicted), 1, 1, 1];
  const ctxWith = (evicted: number, random = () => 0.5) =>
    makeCtx(makeView([{ keys, values, cumulative: scores(evicted) }]), makeStats({}), 4, { random });
  it('keeps sinks + recent and spreads each leaving value /m over the next m kept slots (values only)', () => {
    const p = plan('cam', { sinks: 1, mergeSpan: 2 }, ctxWith(2)); // a_e / mean(a_recent) ≥ 1 → always merged
    expect([...p!.heads[0]!.keep]).toEqual([0, 7, 8, 9]);
    const m = p!.heads[0]!.merges!;
    expect(m.map((o) => [o.into, Array.from(o.from), Array.from(o.coef!), o.normalize, o.target])).toEqual([
      [7, [1, 2, 3, 4, 5, 6], [0.5, 0.5, 0.5, 0.5, 0.5, 0.5], false, 'v'],
      [8, [1, 2, 3, 4, 5, 6], [0.5, 0.5, 0.5, 0.5, 0.5, 0.5], false, 'v'],
    ]);
    const v = applyMergesReference(values, new Array(10).fill(1), m);
    expect(v[7]).toEqual([7 + (1 + 2 + 3 + 4 + 5 + 6) / 2, 1 + 3]);
  });
  it('merges with Bernoulli probability a_e / mean(a_recent), drawn from ctx.random', () => {
    expect(plan('cam', { sinks: 1, mergeSpan: 2 }, ctxWith(0))!.heads[0]!.merges).toBeUndefined();
    const draws = [0.1, 0.9, 0.2, 0.8, 0.3, 0.7];
    let i = 0;
    const p = plan('cam', { sinks: 1, mergeSpan: 1 }, ctxWith(0.5, () => draws[i++]!)); // p = 0.5
    expect(ops(p)).toEqual([[7, [1, 3, 5]]]);
  });
});

describe('KVMerger', () => {
  const keys = [[1, 0], [1, 0.05], [1, 0.1], [0, 1], [-1, 0.1], [-1, 0.12], [0.3, -1], [0.9, 0.5], [-0.5, -0.9], [0, 1]];
  const cumulative = [0.1, 2, 0.2, 0.5, 1.5, 0.3, 0.05, 0.4, 0.01, 1];
  const view = makeView([{ keys, cumulative }]);
  it('merges only runs of consecutive similar keys into their most-attended slot, with Gaussian weights', () => {
    // budget 4: recent 1 (slot 9); 6 units among 0..8 → keep the 3 best pivots: 1 (run 0-2), 4 (run 4-5), 3
    const p = plan('kvmerger', {}, makeCtx(view, makeStats({}), 4));
    expect([...p!.heads[0]!.keep]).toEqual([1, 3, 4, 9]);
    const m = p!.heads[0]!.merges!;
    expect(ops(p)).toEqual([[1, [0, 2]], [4, [5]]]);
    // equal distances 0.05 to the pivot → σ² = 0.0025 → g = exp(−½)
    for (const c of Array.from(m[0]!.coef!)) expect(c).toBeCloseTo(Math.exp(-0.5), 5);
    expect(m[0]!.selfCoef).toBe(1);
  });
  it('merges only the strongest links the budget needs', () => {
    // budget 8: recent 2; 8 older slots must become 6 → only the two strongest links (4-5, 1-2)
    expect(ops(plan('kvmerger', {}, makeCtx(view, makeStats({}), 8)))).toEqual([[1, [2]], [4, [5]]]);
    expect([...plan('kvmerger', {}, makeCtx(view, makeStats({}), 8))!.heads[0]!.keep]).toEqual([0, 1, 3, 4, 6, 7, 8, 9]);
  });
});

describe('D2O', () => {
  const view = (sims: number[]) => {
    // kept heavy slot 0 = [1, 0]; evicted slots have cosine sims[i] with it; slot last is recent
    const keys = [[1, 0], ...sims.map((s) => [s, Math.sqrt(1 - s * s)]), [-1, 0]];
    return makeView([{ keys, cumulative: [9, ...sims.map(() => 0), 0] }]);
  };
  it('merges evicted slots at or above the EMA similarity threshold with exp weights', () => {
    const p = policies.create('d2o', { recentShare: 0.5 }, env);
    const first = p.plan(makeCtx(view([0.9, 0.5, 0.95]), makeStats({}), 2));
    // keep heavy slot 0 + recent slot 4; evicted 1..3 have best similarities 0.9, 0.5, 0.95 → τ₁ = their mean 0.783
    const m = first!.heads[0]!.merges!;
    expect(m.map((o) => [o.into, Array.from(o.from)])).toEqual([[0, [1, 3]]]);
    expect(m[0]!.selfCoef).toBeCloseTo(Math.E, 6);
    expect(m[0]!.coef![0]).toBeCloseTo(Math.exp(0.9), 5);
    // second call: all 0.7 ≥ their own mean, but τ₂ = 0.9·0.783 + 0.1·0.7 > 0.7 → nothing merges
    const second = p.plan(makeCtx(view([0.7, 0.7, 0.7]), makeStats({}), 2));
    expect(second!.heads[0]!.merges).toBeUndefined();
  });
  it('gives denser layers more budget', () => {
    const p = policies.create('d2o', {}, env);
    const dense = makeStats({ cumulative: [[1, 1, 1, 1]] });
    const peaked = makeStats({ cumulative: [[4, 0, 0, 0]] });
    const b = p.allocateLayers!({ base: 10, numLayers: 2, promptLength: 4, stats: [dense, peaked] });
    expect(b).toEqual([15, 5]); // mix 0.5: 10·(0.5 + 0.5·2·1/1), 10·(0.5 + 0)
  });
});

describe('MEDA', () => {
  it('gives layers with diffuse cross-modal attention a larger share (token entropy with metadata)', () => {
    const meta = allocTokenMeta(6);
    meta.modality.set([0, 0, 0, 1, 1, 1]);
    // textColumn: text→visual uniform in layer 0, peaked in layer 1; cumulative − text = visual→text
    const diffuse = makeStats({ cumulative: [[2, 2, 2, 2, 2, 2]], textColumn: [[1, 1, 1, 1, 1, 1]] });
    const peaked = makeStats({ cumulative: [[2, 1, 1, 3, 1, 1]], textColumn: [[1, 1, 1, 3, 0, 0]] });
    const p = policies.create('meda', {}, env);
    const b = p.allocateLayers!({ base: 10, numLayers: 2, promptLength: 6, stats: [diffuse, peaked], meta });
    expect(b[0]! + b[1]!).toBe(20);
    expect(b[0]).toBeGreaterThan(b[1]!);
  });
  it('falls back to the flows split when the allocator gets no metadata', () => {
    const f = (textToText: number, textToVis: number) => {
      const x = new Float64Array(NUM_MODALITIES * NUM_MODALITIES);
      x[0] = textToText;
      x[1] = textToVis;
      x[NUM_MODALITIES] = 1; // image → text
      return { groupSize: 1, queries: 1, flows: [x] };
    };
    const b = policies.create('meda', {}, env).allocateLayers!({ base: 10, numLayers: 2, promptLength: 6, stats: [f(1, 1), f(1, 0)] });
    expect(b[0]).toBeGreaterThan(b[1]!);
  });
  it('merges every evicted slot into its nearest kept slot (LOOK-M average)', () => {
    const view = makeView([{ keys: [[1, 0], [1, 0.1], [0, 1], [0.1, 1]], cumulative: [5, 0, 0, 1] }]);
    const p = plan('meda', {}, makeCtx(view, makeStats({}), 2));
    expect([...p!.heads[0]!.keep]).toEqual([0, 3]);
    expect(ops(p)).toEqual([[0, [1]], [3, [2]]]);
  });
});
