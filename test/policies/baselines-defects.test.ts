/**
 * Baseline defects of issue 18: LOOK-M's default merge is the authors' script's pivot merge,
 * and PyramidKV applies KVCache-Factory's short-prompt fallback and clamp.
 */
import { describe, expect, it } from 'vitest';
import { policies } from '../../src/policies/catalog.js';
import { validatePlan } from '../../src/policies/parts/plan.js';
import { makeCtx, makeStats, makeView } from './fixtures.js';

const env = { numLayers: 4, kvHeads: 1, qHeads: 1, headDim: 2, seed: 1 };

describe('LOOK-M default merge', () => {
  it('is pivotal, unfiltered (scripts/text-prior-pivot-merge_eval.sh): the below-mean slot still merges', () => {
    const modality = [0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0];
    const keys = [[1, 0], [0, 1], [-1, 0], [1, 0.05], [1, 0.06], [0.05, 1], [-1, 0.02], [0.5, 0.6], [0, -1], [0, -1], [0.7, -0.7], [-0.7, -0.7]];
    const cumulative = [0.1, 0.1, 0.1, 5, 5, 5, 5, 5, 5, 0.1, 0.1, 0.1];
    const ctx = makeCtx(makeView([{ keys, modality, cumulative }]), makeStats({}), 6);
    const plan = policies.create('look-m', {}, env).plan(ctx);
    validatePlan(plan, [12]);
    const ops = plan!.heads[0]!.merges!.map((m) => [m.into, Array.from(m.from)]);
    expect(ops).toEqual([[0, [3, 4]], [1, [5, 7]], [2, [6]], [9, [8]]]);
    // pivotal coefficients: each evicted slot counts half, the target absorbs the other halves
    const op1 = plan!.heads[0]!.merges!.find((m) => m.into === 1)!;
    expect(Array.from(op1.coef!)).toEqual([0.5, 0.5]);
    expect(op1.selfCoef).toBe(2);
  });
});

describe('PyramidKV with KVCache-Factory guards', () => {
  const allocate = (promptLength: number, opts: object = {}) =>
    policies.create('pyramidkv', { window: 8, ...opts }, env).allocateLayers!({ base: 48, numLayers: 4, promptLength, stats: [] });

  it('a prompt shorter than 2c (c = base − window = 40) gets the uniform SnapKV budget', () => {
    expect(allocate(70)).toEqual([48, 48, 48, 48]);
    expect(allocate(70, { factoryGuards: false })[0]).toBeGreaterThan(48);
    // base below 2·window (c < window): a prompt shorter than the base is not compressed at all
    const wide = policies.create('pyramidkv', { window: 32 }, env).allocateLayers!({ base: 48, numLayers: 4, promptLength: 40, stats: [] });
    expect(wide).toEqual([48, 48, 48, 48]);
  });

  it('clamps the bottom layer to the prompt’s non-window length, keeping the mean', () => {
    // min = 2, max = 78 ≥ 84 − 8 → max = 76, min = 4: 76, 52, 28, 4 plus the window
    expect(allocate(84)).toEqual([84, 60, 36, 12]);
    const plain = allocate(84, { factoryGuards: false });
    expect(plain[0]).toBeGreaterThan(84); // more slots than the prompt has: wasted
    expect(plain.reduce((a, b) => a + b, 0)).toBe(192);
    // long prompts are untouched by the clamp
    expect(allocate(400)).toEqual(allocate(400, { factoryGuards: false }));
  });
});
