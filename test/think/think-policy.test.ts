/**
 * ThinK's defining behaviour on hand-built views: which key channels survive and why (query-
 * weighted magnitude ‖Q_win[:, c]‖·‖K[:, c]‖ over the GQA group and the slots the wrapped
 * policy keeps), once per layer at prefill; its options and refusals; its catalogue entry.
 */
import { describe, expect, it } from 'vitest';
import type { AttentionStats } from '../../src/attention/stats.js';
import type { PolicyContext } from '../../src/cache/policy-api.js';
import { staticLayerView } from '../../src/cache/static-view.js';
import { allocTokenMeta } from '../../src/cache/token-meta.js';
import { policies } from '../../src/policies/catalog.js';
import { policyTraits } from '../../src/policies/traits.js';
import type { PolicyEnv } from '../../src/policies/registry.js';
import { channelScores, keptChannelCount, topChannels } from '../../src/policies/think-channels.js';

const env = (kvHeads: number, group: number, headDim: number): PolicyEnv => ({ numLayers: 1, kvHeads, qHeads: kvHeads * group, headDim, seed: 0 });

/** A context over explicit keys [kvHeads][len][d] and window queries [w][qHeads][d]. */
function context(keys: number[][][], queries: number[][][], group: number, budget: number, extra: Partial<PolicyContext> = {}): PolicyContext {
  const d = keys[0]![0]!.length;
  const heads = keys.map((rows) => {
    const meta = allocTokenMeta(rows.length);
    meta.position.set(rows.map((_, i) => i));
    const flat = Float32Array.from(rows.flat());
    return { keys: flat, values: flat, meta };
  });
  const view = staticLayerView({ headDim: d, groupSize: group, heads });
  const stats: AttentionStats = {
    groupSize: group,
    queries: queries.length,
    recentQueries: { q: Float32Array.from(queries.flat(2)), positions: Int32Array.from(queries.map((_, i) => keys[0]!.length - queries.length + i)) },
    window: keys.map((rows) => Float32Array.from(rows, (_, j) => j + 1)),
  };
  return { view, stats, phase: 'prefill', layer: 0, numLayers: 1, step: 0, promptLength: keys[0]!.length, budget, queryAware: true, random: () => 0.5, ...extra };
}

describe('which key channels ThinK keeps', () => {
  // 4 channels: c0 big keys, no query mass; c1 big keys and big queries; c2 small keys, big
  // queries; c3 moderate both. Scores ‖Q‖²·‖K‖²: c0 0, c1 large, c2 small, c3 middle.
  const keys = [
    [
      [9, 5, 0.1, 1],
      [8, 4, 0.1, 1],
      [9, 6, 0.2, 2],
    ],
  ];
  const queries = [[[0, 3, 4, 1]], [[0, 2, 5, 1]]];

  it('drops a channel with big keys but no query mass and keeps one where both are large', () => {
    const policy = policies.create('think', { policy: 'snapkv', options: { window: 1 }, ratio: 0.5, recent: 1 }, env(1, 1, 4));
    const plan = policy.plan(context(keys, queries, 1, 3))!;
    expect(plan.keyChannels!.channels[0]).toEqual(Int32Array.of(1, 3));
    expect(plan.keyChannels!.recent).toBe(1);
    // Within budget: the wrapped policy keeps every slot (ThinK still prunes at the prefill event).
    expect(plan.heads[0]!.keep).toEqual(Int32Array.of(0, 1, 2));
  });

  it('the score is the product of the query and key channel energies', () => {
    const s = channelScores({ q: Float32Array.from(queries.flat(2)), positions: Int32Array.of(1, 2) }, 1, 1, 0, Float32Array.from(keys[0]!.flat()), [0, 1, 2], 4);
    const q2 = [0, 9 + 4, 16 + 25, 2];
    const k2 = [81 + 64 + 81, 25 + 16 + 36, 0.01 + 0.01 + 0.04, 1 + 1 + 4];
    s.forEach((x, c) => expect(x).toBeCloseTo(q2[c]! * k2[c]!, 6));
    expect(topChannels(Float64Array.of(1, 3, 3, 0), 2)).toEqual(Int32Array.of(1, 2));
    expect(topChannels(Float64Array.of(5, 3, 3, 0), 2)).toEqual(Int32Array.of(0, 1)); // tie: lower index
    expect([0, 0.4, 0.5, 0.6, 0.99].map((r) => keptChannelCount(10, r))).toEqual([10, 6, 5, 4, 1]);
  });

  it('weighs keys over the slots the wrapped policy keeps, not the evicted ones', () => {
    // Slot 0 alone carries channel 0's key energy; SnapKV (window scores rising with j) evicts it.
    const k = [
      [
        [50, 1, 1],
        [0, 1, 2],
        [0, 2, 1],
      ],
    ];
    const q = [[[1, 1, 1]]];
    const plan = policies.create('think', { policy: 'snapkv', options: { window: 1, kernel: 1 }, ratio: 0.34, recent: 0 }, env(1, 1, 3)).plan(context(k, q, 1, 2))!;
    expect(plan.heads[0]!.keep).toEqual(Int32Array.of(1, 2));
    expect(plan.keyChannels!.channels[0]).toEqual(Int32Array.of(1, 2));
  });

  it('sums the query energy over every query head of a GQA group, per KV head', () => {
    // Two KV heads, group 2: head 0's query heads put mass on c0 and c1, head 1's on c2 only.
    const k = [
      [
        [1, 1, 1],
        [1, 1, 1],
      ],
      [
        [1, 1, 1],
        [1, 1, 1],
      ],
    ];
    const q = [[[3, 0, 0], [0, 2, 0], [0, 0, 1], [0, 0.1, 1]]];
    const plan = policies.create('think', { policy: 'snapkv', ratio: 0.34, recent: 0 }, env(2, 2, 3)).plan(context(k, q, 2, 2))!;
    expect(plan.keyChannels!.channels).toEqual([Int32Array.of(0, 1), Int32Array.of(1, 2)]);
  });

  it('prunes only at prefill, once per layer; ratio 0 leaves the plan as the wrapped policy’s', () => {
    const p = policies.create('think', { ratio: 0.5 }, env(1, 1, 4));
    expect(p.plan(context(keys, queries, 1, 2, { phase: 'decode' }))?.keyChannels).toBeUndefined();
    const ctx = context(keys, queries, 1, 2);
    const pruned = { ...ctx, view: { ...ctx.view, keyChannels: () => Int32Array.of(0, 1) } };
    expect(p.plan(pruned)?.keyChannels).toBeUndefined();
    const zero = policies.create('think', { ratio: 0 }, env(1, 1, 4)).plan(ctx);
    expect(zero).toEqual(policies.create('snapkv', {}, env(1, 1, 4)).plan(ctx));
  });

  it('asks the session for the window’s queries on top of the wrapped policy’s statistics', () => {
    const p = policies.create('think', { policy: 'h2o', window: 8 }, env(1, 1, 4));
    expect(p.needs).toEqual({ cumulative: true, recentQueries: 8 });
    expect(p.name).toBe('think(h2o)');
    const ctx = context(keys, queries, 1, 2);
    const snap = policies.create('think', { policy: 'snapkv' }, env(1, 1, 4));
    expect(() => snap.plan({ ...ctx, stats: { ...ctx.stats, recentQueries: undefined } })).toThrow(/think: layer 0 has no recent queries/);
  });
});

describe('ThinK options and catalogue entry', () => {
  it('rejects bad options with the field and the expected form', () => {
    const e = env(1, 1, 4);
    expect(() => policies.create('think', { ratio: 1 }, e)).toThrow(/policies\.think\.ratio: λ must be in \[0, 1\): the fraction of key channels pruned \(1 would keep none\)/);
    expect(() => policies.create('think', { ratio: -0.1 }, e)).toThrow(/policies\.think\.ratio: λ must be in \[0, 1\)/);
    expect(() => policies.create('think', { ratio: '0.5' }, e)).toThrow(/policies\.think\.ratio: λ must be a number in \[0, 1\)/);
    expect(() => policies.create('think', { window: 0 }, e)).toThrow(/policies\.think\.window/);
    expect(() => policies.create('think', { recent: 1.5 }, e)).toThrow(/policies\.think\.recent/);
    expect(() => policies.create('think', { policy: 'snapkvv' }, e)).toThrow(/policies\.think\.policy: unknown policy "snapkvv"; did you mean "snapkv"/);
    expect(() => policies.create('think', { policy: 'think' }, e)).toThrow(/think cannot wrap itself/);
    expect(() => policies.create('think', { policy: 'key-rerotation' }, e)).toThrow(/think cannot wrap key-rerotation/);
    expect(() => policies.create('think', { policy: 'snapkv', options: { windw: 4 } }, e)).toThrow(/policies\.think\.options: invalid options for policy "snapkv": .*windw/);
    expect(() => policies.create('think', { lambda: 0.5 }, e)).toThrow(/policies\.think\.\(options\): .*lambda/);
  });

  it('is listed as a query-aware eviction policy with its paper', () => {
    const def = policies.get('think');
    expect(def.paper?.arxiv).toBe('2407.21018');
    expect(policyTraits(def)).toEqual({ queryAgnostic: false, attentionFree: false, secondPass: false, calibration: false });
  });
});
