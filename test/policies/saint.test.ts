/**
 * SAINT on hand-built views: its rounds drop the most redundant visual tokens (largest key
 * similarity degree) first, the same slots for every head, text last; drops carry to later
 * layers and to clones.
 */
import { describe, expect, it } from 'vitest';
import { ModalityCode } from '../../src/cache/modality.js';
import { policies } from '../../src/policies/catalog.js';
import { saintDropOrder } from '../../src/policies/multimodal/saint.js';
import { withLayerAllocator } from '../../src/policies/parts/compose.js';
import type { PolicyEnv } from '../../src/policies/registry.js';
import { makeCtx, makeStats, makeView } from './fixtures.js';

const env: PolicyEnv = { numLayers: 2, kvHeads: 2, qHeads: 2, headDim: 2, seed: 0 };
const unit = (rows: number[][]) => Float32Array.from(rows.flatMap(([x, y]) => [x! / Math.hypot(x!, y!), y! / Math.hypot(x!, y!)]));

describe('SAINT rounds', () => {
  it('drops the largest similarity degree first, by hand', () => {
    // Three near-copies of (1, 0), then (0, 1) and (0.3, 1).
    const rows = [[1, 0], [1, 0.05], [1, -0.05], [0, 1], [0.3, 1]];
    const u = unit(rows);
    const degree = (i: number, alive: number[]) => alive.reduce((s, j) => s + u[2 * i]! * u[2 * j]! + u[2 * i + 1]! * u[2 * j + 1]!, 0);
    // Round 1 (one token per round with divisor 16): the largest degree over all five.
    const all = [0, 1, 2, 3, 4];
    const first = [...all].sort((a, b) => degree(b, all) - degree(a, all))[0]!;
    const order = saintDropOrder(u, 2, all, 3, 16);
    expect(order[0]).toBe(first);
    expect(first).toBeLessThan(3);
    // Round 2 on the four left: the degrees are taken again without the dropped token.
    const rest = all.filter((i) => i !== first);
    expect(order[1]).toBe([...rest].sort((a, b) => degree(b, rest) - degree(a, rest))[0]);
    expect(order).toHaveLength(2);
  });
  it('a round drops ⌊N/divisor⌋ at once', () => {
    const u = unit(Array.from({ length: 8 }, (_, i) => [Math.cos(i / 3), Math.sin(i / 3)]));
    expect(saintDropOrder(u, 2, [0, 1, 2, 3, 4, 5, 6, 7], 2, 2)).toHaveLength(6); // rounds of 4, then 2 (capped at the target)
    expect(saintDropOrder(u, 2, [0, 1, 2, 3], 4, 2)).toEqual([]);
  });
});

describe('SAINT policy', () => {
  const { text, video } = ModalityCode;
  const modality = [text, video, video, video, video, video, text, text];
  const keys = [[0, 1], [1, 0], [1, 0.02], [1, -0.02], [0.2, 1], [-1, 0.3], [1, 1], [0.5, -1]];
  const view = (layer = 0) => makeView([{ keys, modality }, { keys: keys.map(([a, b]) => [2 * a!, 2 * b!]), modality }], { layer });
  const kept = (plan: ReturnType<ReturnType<typeof policies.create>['plan']>) => plan!.heads.map((h) => Array.from(h.keep));

  it('prunes video tokens to the budget by its rounds on the head-mean keys, the same slots in every head, text untouched', () => {
    const [h0, h1] = kept(policies.create('saint', {}, env).plan(makeCtx(view(), makeStats({}), 5)));
    expect(h0).toEqual(h1);
    expect(h0).toHaveLength(5);
    for (const j of [0, 6, 7]) expect(h0).toContain(j);
    // Head 1 holds head 0's keys doubled, so the head mean points where head 0's keys do.
    const u = unit(keys);
    const dropped = saintDropOrder(u, 2, [1, 2, 3, 4, 5], 2, 16);
    expect(h0).toEqual([0, 1, 2, 3, 4, 5, 6, 7].filter((j) => !dropped.includes(j)));
  });

  it('a token dropped in one layer is gone from the later ones, and a clone remembers', () => {
    const p = policies.create('saint', {}, env);
    const first = kept(p.plan(makeCtx(view(0), makeStats({}), 5)))[0]!;
    const copy = p.clone!();
    // Layer 1 could hold all 8, yet keeps only what layer 0 kept.
    expect(kept(p.plan(makeCtx(view(1), makeStats({}), 8, { layer: 1 })))[0]).toEqual(first);
    expect(kept(copy.plan(makeCtx(view(1), makeStats({}), 8, { layer: 1 })))[0]).toEqual(first);
    expect(policies.create('saint', {}, env).plan(makeCtx(view(1), makeStats({}), 8, { layer: 1 }))).toBeNull();
    // A layer allocator around it keeps the copy's state and its own allocation.
    const wrapped = withLayerAllocator(policies.create('saint', {}, env), 'pyramid');
    wrapped.plan(makeCtx(view(0), makeStats({}), 5));
    const wrappedCopy = wrapped.clone!();
    expect(wrappedCopy.allocateLayers).toBeDefined();
    expect(kept(wrappedCopy.plan(makeCtx(view(1), makeStats({}), 8, { layer: 1 })))[0]).toEqual(first);
    // ... but not from shallower ones: what layer 1 drops stays in layer 0.
    const deep = policies.create('saint', {}, env);
    expect(kept(deep.plan(makeCtx(view(1), makeStats({}), 4, { layer: 1 })))[0]).toHaveLength(4);
    expect(deep.plan(makeCtx(view(0), makeStats({}), 8))).toBeNull();
  });

  it('when the media run out the oldest other slots go', () => {
    const [h0] = kept(policies.create('saint', {}, env).plan(makeCtx(view(), makeStats({}), 2)));
    expect(h0).toEqual([6, 7]);
    expect(kept(policies.create('saint', {}, env).plan(makeCtx(view(), makeStats({}), 0)))[0]).toEqual([]);
  });

  it('candidates: media lets audio tokens join the graph', () => {
    const { audio } = ModalityCode;
    const av = [text, video, video, audio, audio, audio, text, text];
    const v = makeView([{ keys, modality: av }, { keys: keys.map(([a, b]) => [2 * a!, 2 * b!]), modality: av }]);
    // Visual only: with 5 slots and 3 text + 3 audio, both video go and then the oldest other slot.
    expect(kept(policies.create('saint', {}, env).plan(makeCtx(v, makeStats({}), 5)))[0]).toEqual([3, 4, 5, 6, 7]);
    // Media: the rounds pick 2 of the 5 video + audio slots by degree.
    const dropped = saintDropOrder(unit(keys), 2, [1, 2, 3, 4, 5], 2, 16);
    expect(kept(policies.create('saint', { candidates: 'media' }, env).plan(makeCtx(v, makeStats({}), 5)))[0]).toEqual([0, 1, 2, 3, 4, 5, 6, 7].filter((j) => !dropped.includes(j)));
  });

  it('refuses heads of different lengths (it prunes tokens, not per-head slots)', () => {
    const v = makeView([{ keys, modality }, { keys: keys.slice(0, 6), modality: modality.slice(0, 6) }]);
    expect(() => policies.create('saint', {}, env).plan(makeCtx(v, makeStats({}), 3))).toThrow(/saint: layer 0 heads hold different slots/);
    expect(() => policies.create('saint', { divisor: 0 }, env)).toThrow(/policies\.saint\.divisor:/);
  });
});
