import { describe, expect, it } from 'vitest';
import {
  adaptiveHeadBudgets,
  cosineNearest,
  keepTopWithRecent,
  lastN,
  mergeIntoNearest,
  planFromKeep,
  pool1d,
  pyramidLayerBudgets,
  roundToTotal,
  topK,
  uniformLayerBudgets,
  unionSorted,
  weightedLayerBudgets,
} from '../../src/policies/parts/index.js';
import { LayerCache } from '../../src/cache/layer-cache.js';
import { textMeta } from '../../src/cache/token-meta.js';
import { applyMergesReference } from './fixtures.js';

describe('select', () => {
  it('topK returns the k largest ascending by index, ties to the lower index', () => {
    expect([...topK([5, 1, 5, 3, 5], 2)]).toEqual([0, 2]);
    expect([...topK([1, 9, 3, 7], 2)]).toEqual([1, 3]);
    expect([...topK([1, 9, 3, 7], 10)]).toEqual([0, 1, 2, 3]);
    expect([...topK([1, 9, 3, 7], 0)]).toEqual([]);
    expect([...topK([1, 9, 3, 7], 2, (i) => i !== 1)]).toEqual([2, 3]);
    expect([...topK([NaN, 0, -1], 1)]).toEqual([1]);
  });
  it('topK agrees with a full sort on random scores', () => {
    let seed = 1;
    const r = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (let t = 0; t < 50; t++) {
      const s = Array.from({ length: 40 }, () => Math.floor(r() * 10));
      const k = Math.floor(r() * 41);
      const want = s.map((v, i) => ({ v, i })).sort((a, b) => b.v - a.v || a.i - b.i).slice(0, k).map((e) => e.i).sort((a, b) => a - b);
      expect([...topK(s, k)]).toEqual(want);
    }
  });
  it('lastN / unionSorted / keepTopWithRecent', () => {
    expect([...lastN(5, 2)]).toEqual([3, 4]);
    expect([...lastN(2, 5)]).toEqual([0, 1]);
    expect([...unionSorted([4, 1], [1, 3], [0])]).toEqual([0, 1, 3, 4]);
    // recent 2 = slots 4,5; heavy 2 among 0..3 by score → 0 and 2
    expect([...keepTopWithRecent([9, 1, 8, 2, 0, 0], 6, 4, 2)]).toEqual([0, 2, 4, 5]);
    expect([...keepTopWithRecent([9, 1], 2, 5, 1)]).toEqual([0, 1]);
    expect([...keepTopWithRecent([9, 1, 8], 3, 0, 2)]).toEqual([]);
  });
  it('rejects a non-finite k', () => {
    expect(() => topK([1], NaN)).toThrow(/k must be a finite number/);
  });
});

describe('pool1d', () => {
  it('averages over the available neighbours and maxes over the window', () => {
    expect([...pool1d([3, 0, 0, 6], 3, 'avg')]).toEqual([1.5, 1, 2, 3]);
    expect([...pool1d([3, 0, 0, 6], 3, 'max')]).toEqual([3, 3, 6, 6]);
    expect([...pool1d([3, 0, 6], 1, 'avg')]).toEqual([3, 0, 6]);
  });
  it('rejects even kernels and unknown modes', () => {
    expect(() => pool1d([1], 4, 'avg')).toThrow(/kernel must be an odd integer/);
    expect(() => pool1d([1], 3, 'sum' as 'avg')).toThrow(/mode must be/);
  });
});

describe('similarity and merging', () => {
  const keys = Float32Array.from([1, 0, /**/ 0, 1, /**/ 0.9, 0.1, /**/ 0.1, 0.9, /**/ -1, 0]);
  it('cosineNearest picks the candidate of maximal cosine', () => {
    const r = cosineNearest(keys, 2, [2, 3, 4], [0, 1]);
    expect([...r.target]).toEqual([0, 1, 1]);
    expect(r.similarity[0]).toBeCloseTo(0.9 / Math.hypot(0.9, 0.1), 6);
    expect(r.similarity[2]).toBeCloseTo(0, 6);
    expect([...cosineNearest(keys, 2, [2], []).target]).toEqual([-1]);
  });

  const x = [[2, 0], [0, 4], [4, 2], [6, 6]];
  const w = [1, 1, 1, 1];
  it('average reproduces LOOK-M scatter-mean (target included once)', () => {
    const ops = mergeIntoNearest(Float32Array.from([1, 0, 0, 1, 1, 0.1, 1, 0.2]), 2, [2, 3], [0, 1], 'average');
    expect(ops.map((o) => [o.into, Array.from(o.from)])).toEqual([[0, [2, 3]]]);
    const out = applyMergesReference(x, w, ops);
    expect(out[0]).toEqual([(2 + 4 + 6) / 3, (0 + 2 + 6) / 3]);
  });
  it('pivotal = average of (evicted+target)/2 with the target, as LOOK-M code', () => {
    const ops = mergeIntoNearest(Float32Array.from([1, 0, 0, 1, 1, 0.1, 1, 0.2]), 2, [2, 3], [0, 1], 'pivotal');
    const out = applyMergesReference(x, w, ops);
    // code: (t + (e1+t)/2 + (e2+t)/2) / 3
    const want = [0, 1].map((d) => (x[0]![d]! + (x[2]![d]! + x[0]![d]!) / 2 + (x[3]![d]! + x[0]![d]!) / 2) / 3);
    expect(out[0]![0]).toBeCloseTo(want[0]!, 6);
    expect(out[0]![1]).toBeCloseTo(want[1]!, 6);
  });
  it('weighted = similarity-weighted mean (t + Σ s e)/(1 + Σ s)', () => {
    const k = Float32Array.from([1, 0, 0, 1, 1, 1, 1, 0]);
    const ops = mergeIntoNearest(k, 2, [2, 3], [0], 'weighted');
    const s = [Math.SQRT1_2, 1];
    const out = applyMergesReference(x, w, ops);
    for (const d of [0, 1]) expect(out[0]![d]).toBeCloseTo((x[0]![d]! + s[0]! * x[2]![d]! + s[1]! * x[3]![d]!) / (1 + s[0]! + s[1]!), 5);
  });
  it('minSimilarity "mean" drops the below-mean evicted slots', () => {
    const k = Float32Array.from([1, 0, 0, 1, 1, 0.05, 1, 1]);
    const ops = mergeIntoNearest(k, 2, [2, 3], [0, 1], 'average', { minSimilarity: 'mean' });
    expect(ops.map((o) => [o.into, Array.from(o.from)])).toEqual([[0, [2]]]);
  });
  it('candidatesOf restricts targets (e.g. same modality)', () => {
    const ops = mergeIntoNearest(keys, 2, [2], [0, 1], 'average', { candidatesOf: () => [1] });
    expect(ops[0]!.into).toBe(1);
  });
  it('uses slot weights as token counts', () => {
    const ops = mergeIntoNearest(Float32Array.from([1, 0, 1, 0]), 2, [1], [0], 'average', { weights: [3, 1] });
    expect(applyMergesReference([[4, 0], [0, 4]], [3, 1], ops)[0]).toEqual([3, 1]);
  });
});

describe('plans and allocators', () => {
  it('planFromKeep rejects unsorted keep lists', () => {
    expect(() => planFromKeep([Int32Array.from([2, 1])])).toThrow(/keepPerHead\[0\] must be strictly ascending/);
    expect(planFromKeep([Int32Array.from([0, 3])])!.heads[0]!.keep).toEqual(Int32Array.from([0, 3]));
  });
  it('pyramid budgets decrease linearly and sum to base·L', () => {
    const b = pyramidLayerBudgets(100, 4, 20);
    expect(b.reduce((a, c) => a + c, 0)).toBe(400);
    for (let l = 1; l < 4; l++) expect(b[l]!).toBeLessThanOrEqual(b[l - 1]!);
    expect(b[0]).toBe(195); // max = 2c − c/β = 200 − 5
    expect(b[3]).toBe(5); // min = c/β
    const f = pyramidLayerBudgets(100, 4, 20, 32);
    expect(f.reduce((a, c) => a + c, 0)).toBe(400);
    expect(Math.min(...f)).toBeGreaterThanOrEqual(32);
    expect(uniformLayerBudgets(7, 3)).toEqual([7, 7, 7]);
    expect(pyramidLayerBudgets(0, 3, 20)).toEqual([0, 0, 0]);
  });
  it('weighted layer budgets follow the weights and keep the total', () => {
    expect(weightedLayerBudgets([1, 3], 10)).toEqual([5, 15]);
    expect(weightedLayerBudgets([1, 3], 10, 0.5)).toEqual([8, 12]);
    expect(weightedLayerBudgets([0, 0], 10)).toEqual([10, 10]);
    expect(roundToTotal([0.5, 0.5, 0.5], 2)).toEqual([1, 1, 0]);
  });
  it('adaptive head budgets give concentrated heads fewer slots, with a floor', () => {
    const concentrated = [0.97, 0.01, 0.01, 0.01, 0, 0, 0, 0];
    const flat = [0.125, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125];
    const b = adaptiveHeadBudgets([concentrated, flat], 4, 0.5);
    expect(b[0]! + b[1]!).toBe(8);
    // floor ⌊0.5·4⌋ = 2 each; the 4 remaining picks are all 0.125 > 0.01 → the flat head
    expect(b).toEqual([2, 6]);
    expect(adaptiveHeadBudgets([concentrated, flat], 4, 0)).toEqual([1, 7]);
    expect(adaptiveHeadBudgets([[1], flat], 4, 0.2)).toEqual([1, 7]);
  });
  it('errors name the argument and the expected form', () => {
    expect(() => pyramidLayerBudgets(-1, 2, 20)).toThrow(/base must be a whole number of slots ≥ 0; got -1/);
    expect(() => pyramidLayerBudgets(10, 2, 0.5)).toThrow(/beta must be a number ≥ 1/);
    expect(() => adaptiveHeadBudgets([[1]], 2, 1.5)).toThrow(/floorRatio must be in \[0, 1\]/);
    expect(() => weightedLayerBudgets([1, -1], 3)).toThrow(/weights\[1\] must be a finite number ≥ 0/);
  });
});

describe('merge algebra agrees with the cache', () => {
  // The same plan through the real LayerCache (one head, headDim 2): values and weights match
  // the reference formula of MergeOp for every LOOK-M variant and for CaM's additive ops.
  const rows = [[2, 0], [0, 4], [4, 2], [6, 6], [1, 1]];
  const w = [1, 2, 1, 1, 3];
  const keys = [[1, 0], [0, 1], [1, 0.2], [0.9, 0.1], [0.2, 1]];
  const cacheWith = () => {
    const c = new LayerCache({ layer: 0, kvHeads: 1, headDim: 2 });
    const meta = textMeta(5);
    meta.weight.set(w);
    c.append(Float32Array.from(keys.flat()), Float32Array.from(rows.flat()), meta);
    return c;
  };
  it.each(['average', 'pivotal', 'weighted'] as const)('%s', (variant) => {
    const ops = mergeIntoNearest(Float32Array.from(keys.flat()), 2, [2, 3, 4], [0, 1], variant, { weights: w });
    const c = cacheWith();
    c.apply({ heads: [{ keep: Int32Array.from([0, 1]), merges: ops }] });
    const ref = applyMergesReference(rows, w, ops);
    const v = c.view();
    for (const t of [0, 1]) {
      expect(v.values(0)[t * 2]).toBeCloseTo(ref[t]![0]!, 5);
      expect(v.values(0)[t * 2 + 1]).toBeCloseTo(ref[t]![1]!, 5);
    }
    expect([...v.meta(0).weight]).toEqual([1 + 1 + 1, 2 + 3]); // token counts add up
  });
  it('additive value-only ops (CaM)', () => {
    const ops = [{ into: 1, from: Int32Array.from([2, 3]), coef: Float32Array.from([0.5, 0.5]), selfCoef: 1, normalize: false, target: 'v' as const }];
    const c = cacheWith();
    c.apply({ heads: [{ keep: Int32Array.from([0, 1]), merges: ops }] });
    expect([...c.view().values(0).subarray(2, 4)]).toEqual(applyMergesReference(rows, w, ops)[1]);
    expect([...c.view().keys(0).subarray(2, 4)]).toEqual(keys[1]); // keys untouched
    expect([...c.view().meta(0).weight]).toEqual([1, 2]);
  });
});
