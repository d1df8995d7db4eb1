/** Defining behaviour of the eviction baselines on hand-built views and statistics. */
import { describe, expect, it } from 'vitest';
import { tsBackend } from '../../src/attention/ts-backend.js';
import { CacheSession } from '../../src/cache/cache-session.js';
import { textMeta } from '../../src/cache/token-meta.js';
import { policies } from '../../src/policies/catalog.js';
import type { AttentionStats } from '../../src/attention/stats.js';
import type { Plan, PolicyContext } from '../../src/cache/policy-api.js';
import { mulberry32 } from '../../src/util/random.js';
import { makeCtx, makeStats, makeView, randomHeads, type HeadSpec } from './fixtures.js';

const env = { numLayers: 4, kvHeads: 2, qHeads: 4, headDim: 2, seed: 1 };
const keeps = (p: Plan) => p!.heads.map((h) => [...h.keep]);
const plan = (name: string, opts: object, ctx: PolicyContext) => policies.create(name, opts, env).plan(ctx);
const oneHead = (len: number, extra: Partial<HeadSpec> = {}): HeadSpec[] => [{ keys: Array.from({ length: len }, (_, i) => [1, i]), ...extra }];

describe('StreamingLLM', () => {
  const view = makeView(oneHead(10));
  it('keeps exactly the sinks and the most recent window', () => {
    expect(keeps(plan('streaming-llm', {}, makeCtx(view, makeStats({}), 6)))).toEqual([[0, 1, 2, 3, 8, 9]]);
    expect(keeps(plan('streaming-llm', { sinks: 1 }, makeCtx(view, makeStats({}), 3)))).toEqual([[0, 8, 9]]);
  });
  it('budgets 0, 1 and ≥ length', () => {
    expect(keeps(plan('streaming-llm', {}, makeCtx(view, makeStats({}), 0)))).toEqual([[]]);
    expect(keeps(plan('streaming-llm', {}, makeCtx(view, makeStats({}), 1)))).toEqual([[0]]);
    expect(plan('streaming-llm', {}, makeCtx(view, makeStats({}), 10))).toBeNull();
  });
});

describe('H2O', () => {
  const cumulative = [5, 0.1, 4, 0.2, 3, 0.3, 0.1, 0.1];
  it('keeps heavy hitters by accumulated score plus the recent half of the budget', () => {
    const view = makeView(oneHead(8, { cumulative }));
    expect(keeps(plan('h2o', {}, makeCtx(view, makeStats({}), 4)))).toEqual([[0, 2, 6, 7]]);
    expect(keeps(plan('h2o', { recentShare: 0 }, makeCtx(view, makeStats({}), 3)))).toEqual([[0, 2, 4]]);
  });
  it('falls back to this call’s cumulative statistic and names a missing one', () => {
    const view = makeView(oneHead(8));
    expect(keeps(plan('h2o', { recentShare: 0 }, makeCtx(view, makeStats({ cumulative: [cumulative] }), 2)))).toEqual([[0, 2]]);
    expect(() => plan('h2o', {}, makeCtx(view, makeStats({}), 2))).toThrow(/h2o: attention statistic "cumulative" is missing for KV head 0/);
  });
});

describe('SnapKV / PyramidKV', () => {
  // prefix (8 slots) window scores: a lone peak at 1, a broad plateau at 3..5; window = 2 slots
  const window = [[0, 5, 0, 3, 3, 3, 0, 0, 9, 9]];
  const view = makeView(oneHead(10));
  it('pooling moves the choice from a lone peak to a plateau, as predicted', () => {
    const stats = makeStats({ window }, 2);
    expect(keeps(plan('snapkv', { window: 2, kernel: 1 }, makeCtx(view, stats, 3)))).toEqual([[1, 8, 9]]);
    // avg over 3: slot 1 → 5/3, slot 4 → 3 → the plateau's centre wins
    expect(keeps(plan('snapkv', { window: 2, kernel: 3 }, makeCtx(view, stats, 3)))).toEqual([[4, 8, 9]]);
    // max over 3: slots 0..2 all see 5 → lowest index wins
    expect(keeps(plan('snapkv', { window: 2, kernel: 3, pooling: 'max' }, makeCtx(view, stats, 3)))).toEqual([[0, 8, 9]]);
  });
  it('a budget below the window keeps the last budget slots', () => {
    expect(keeps(plan('snapkv', { window: 4, kernel: 1 }, makeCtx(view, makeStats({ window }, 4), 2)))).toEqual([[8, 9]]);
  });
  it('PyramidKV allocates more to lower layers and keeps the window in every layer', () => {
    const p = policies.create('pyramidkv', { window: 8 }, env);
    const b = p.allocateLayers!({ base: 48, numLayers: 4, promptLength: 200, stats: [] });
    expect(b.reduce((a, c) => a + c, 0)).toBe(192);
    expect(b[0]).toBeGreaterThan(b[3]!);
    expect(Math.min(...b)).toBeGreaterThanOrEqual(8);
  });
});

describe('TOVA', () => {
  const view = makeView([...oneHead(6), ...oneHead(6)]);
  const lastQuery = [
    [0.5, 0, 0.1, 0.1, 0.3, 0],
    [0, 0.5, 0.05, 0.3, 0, 0.15],
  ];
  it('drops what the last query attends to least, one decision for the layer', () => {
    // summed: [0.5, 0.5, 0.15, 0.4, 0.3, 0.15] → top 3 = 0, 1, 3 in both heads
    expect(keeps(plan('tova', {}, makeCtx(view, makeStats({ lastQuery }), 3)))).toEqual([[0, 1, 3], [0, 1, 3]]);
    expect(keeps(plan('tova', { scope: 'head' }, makeCtx(view, makeStats({ lastQuery }), 3)))).toEqual([[0, 2, 4], [1, 3, 5]]); // ties → lower index
  });
});

describe('AdaKV', () => {
  const concentrated = [9, 0, 0, 0, 0, 0, 0, 0, 0, 1];
  const flat = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
  const view = makeView([...oneHead(10), ...oneHead(10)]);
  const stats = makeStats({ window: [concentrated, flat] }, 1);
  it('moves budget to the flat head but never below the floor, keeping the layer total', () => {
    const p = plan('adakv', { window: 1, kernel: 1, floorRatio: 0.5 }, makeCtx(view, stats, 5));
    // floor ⌊0.5·4⌋ = 2 per head; the 4 remaining picks all go to the flat head's 1s
    expect(keeps(p).map((k) => k.length)).toEqual([3, 7]);
    expect(keeps(p)[0]).toEqual([0, 1, 9]);
    const noFloor = plan('adakv', { window: 1, kernel: 1, floorRatio: 0 }, makeCtx(view, stats, 5));
    // total 10 − 2 window slots = 8: the 9, then seven of the flat head's 1s
    expect(keeps(noFloor)).toEqual([[0, 9], [0, 1, 2, 3, 4, 5, 6, 9]]);
  });
});

describe('Knorm', () => {
  it('keeps the lowest key norms', () => {
    const view = makeView([{ keys: [[3, 0], [0.1, 0], [2, 2], [0, 0.5], [1, 0]] }]);
    expect(keeps(plan('knorm', {}, makeCtx(view, makeStats({}), 3)))).toEqual([[1, 3, 4]]);
    expect(plan('knorm', { skipLayers: 1 }, makeCtx(view, makeStats({}), 3))).toBeNull();
  });
});

describe('Random', () => {
  const view = makeView(randomHeads(2, 30, 2, 3));
  const run = (seed: number) => keeps(plan('random', {}, makeCtx(view, makeStats({}), 7, { random: mulberry32(seed) })));
  it('is seeded-deterministic, exact in size and varies with the seed', () => {
    expect(run(11)).toEqual(run(11));
    expect(run(11)).not.toEqual(run(12));
    for (const k of run(11)) expect(k.length).toBe(7);
    expect(run(11)[0]).not.toEqual(run(11)[1]); // heads draw independently
  });
});

describe('FastV', () => {
  // 3 text, 6 image, 3 text; layer K = 1 ranks images 3..8 by mean attention received
  const modality = [0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0];
  const view = makeView([{ keys: modality.map((_, i) => [1, i]), modality }], { layer: 2 });
  const cumK = [[1, 1, 1, 0.9, 0.1, 0.8, 0.2, 0.7, 0.05, 0.1, 0.1, 0.1]];
  const cumOther = [[1, 1, 1, 0.1, 0.9, 0.1, 0.9, 0.1, 0.9, 0.1, 0.1, 0.1]];
  const layerStats = (c: number[][]): AttentionStats => ({ ...makeStats({ cumulative: c }, 12), queries: 12 });
  it('drops only the lowest-ranked image tokens, ranked by layer K', () => {
    const p = policies.create('fastv', { layer: 1 }, { ...env, kvHeads: 1 });
    const budgets = p.allocateLayers!({ base: 10, numLayers: 4, promptLength: 12, stats: [layerStats(cumOther), layerStats(cumK), layerStats(cumOther), layerStats(cumOther)] });
    expect(budgets).toEqual([12, 12, 8, 8]); // layers ≤ K keep everything; the rest meets the total 40
    const ctx = makeCtx(view, layerStats(cumOther), 8, { layer: 2, numLayers: 4, promptLength: 12 });
    const kept = keeps(p.plan(ctx))[0]!;
    expect(kept.filter((i) => modality[i] === 0)).toEqual([0, 1, 2, 9, 10, 11]); // all text stays
    // mean received = cum / (12 − j): image scores 0.9/9, 0.1/8, 0.8/7, 0.2/6, 0.7/5, 0.05/4 → keep 5 and 7
    expect(kept.filter((i) => modality[i] === 1)).toEqual([5, 7]);
  });
});

describe('MixKV', () => {
  it('keeps the most diverse key when importance is flat', () => {
    const keys = [[1, 0.1], [1, 0.12], [1, 0.11], [-1, 0.5], [1, 0.1], [1, 0.13]];
    const view = makeView([{ keys, values: keys.map(() => [1, 0]) }]);
    const stats = makeStats({ window: [[1, 1, 1, 1, 1, 1]] }, 1);
    expect(keeps(plan('mixkv', { window: 1, kernel: 1 }, makeCtx(view, stats, 2)))).toEqual([[3, 5]]);
    expect(keeps(plan('snapkv', { window: 1, kernel: 1 }, makeCtx(view, stats, 2)))).toEqual([[0, 5]]);
  });
});

describe('H2O on real causal attention (Appendix B fixture 1)', () => {
  it('uniform rows make accumulated scores strictly decreasing in position, so H2O favours early tokens', () => {
    const n = 8;
    const s = new CacheSession({ numLayers: 1, qHeads: 1, kvHeads: 1, headDim: 4, backend: tsBackend, policy: policies.create('h2o', { recentShare: 0 }, env), budget: { tokens: 3 } });
    s.append(0, Float32Array.from({ length: n * 4 }, (_, i) => i % 5), new Float32Array(n * 4), textMeta(n));
    s.attend(0, new Float32Array(n * 4), Int32Array.from({ length: n }, (_, i) => i), new Uint8Array(n)); // q = 0 → uniform rows
    const acc = s.layer(0).view().accumulated(0).cumulative!;
    for (let j = 0; j < n; j++) expect(acc[j]).toBeCloseTo([...Array(n - j)].reduce((a, _, k) => a + 1 / (j + k + 1), 0), 5);
    for (let j = 1; j < n; j++) expect(acc[j]!).toBeLessThan(acc[j - 1]!);
    s.endPrefill();
    expect([...s.layer(0).view().meta(0).position]).toEqual([0, 1, 2]);
  });
});
