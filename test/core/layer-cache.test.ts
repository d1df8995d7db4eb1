import { describe, expect, it } from 'vitest';
import { LayerCache } from '../../src/cache/layer-cache.js';
import { allocTokenMeta, textMeta, type TokenMeta } from '../../src/cache/token-meta.js';
import type { HeadPlan, MergeOp, Plan } from '../../src/cache/policy-api.js';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../src/util/half.js';
import { randn, RecordingStore, rowOf, tokenMajor } from './fixtures.js';

const KVH = 2;
const D = 5;

/** A cache of n tokens whose key (t,h,i) = 100h + t + i/10 and value = -(that). */
function filled(n: number, opts: { dtype?: 'f32' | 'f16' | 'bf16'; initialCapacity?: number } = {}) {
  const cache = new LayerCache({ layer: 3, kvHeads: KVH, headDim: D, groupSize: 2, ...opts });
  const k = tokenMajor(n, KVH, D, (t, h, i) => 100 * h + t + i / 10);
  const v = tokenMajor(n, KVH, D, (t, h, i) => -(100 * h + t + i / 10));
  const meta = textMeta(n, 10);
  for (let t = 0; t < n; t++) {
    meta.modality[t] = t % 4;
    meta.segment[t] = t >> 1;
    meta.time[t] = t * 0.5;
    meta.row[t] = t % 3;
    meta.col[t] = t % 5;
  }
  cache.append(k, v, meta);
  return { cache, k, v, meta };
}

const keyRow = (cache: LayerCache, h: number, s: number) => Array.from(cache.view().keys(h).subarray(s * D, (s + 1) * D));
const valRow = (cache: LayerCache, h: number, s: number) => Array.from(cache.view().values(h).subarray(s * D, (s + 1) * D));
const plan = (...heads: HeadPlan[]): Plan => ({ heads });
const keep = (...s: number[]) => Int32Array.from(s);
const close = (a: number[], b: number[]) => a.forEach((x, i) => expect(x).toBeCloseTo(b[i]!, 5));

describe('LayerCache append, growth and views', () => {
  it('grows by doubling and keeps every appended token per head in order', () => {
    const cache = new LayerCache({ layer: 0, kvHeads: KVH, headDim: D, initialCapacity: 2 });
    const k1 = randn(3 * KVH * D, 1);
    cache.append(k1, randn(3 * KVH * D, 2), textMeta(3));
    expect(cache.capacity).toBe(4);
    const k2 = randn(4 * KVH * D, 3);
    cache.append(k2, randn(4 * KVH * D, 4), textMeta(4, 3));
    expect(cache.capacity).toBe(8);
    for (let h = 0; h < KVH; h++) {
      expect(cache.length(h)).toBe(7);
      for (let t = 0; t < 7; t++) {
        const want = t < 3 ? rowOf(k1, t, h, KVH, D) : rowOf(k2, t - 3, h, KVH, D);
        expect(keyRow(cache, h, t)).toEqual(Array.from(want));
      }
      expect(Array.from(cache.view().meta(h).position)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    }
    const lay = cache.layout();
    expect(lay.capacity).toBe(8);
    expect(lay.keys.length).toBe(KVH * 8 * D);
    expect(Array.from(lay.lengths)).toEqual([7, 7]);
    expect(lay.positions[8 + 6]).toBe(6);
  });

  for (const [dtype, enc, dec] of [
    ['f16', f32ToF16, f16ToF32],
    ['bf16', f32ToBf16, bf16ToF32],
  ] as const) {
    it(`stores ${dtype} and decodes views to the rounded f32`, () => {
      const cache = new LayerCache({ layer: 0, kvHeads: KVH, headDim: D, dtype });
      const k = randn(4 * KVH * D, 9);
      cache.append(k, k, textMeta(4));
      expect(cache.layout().keys).toBeInstanceOf(Uint16Array);
      const got = keyRow(cache, 1, 2);
      expect(got).toEqual(Array.from(rowOf(k, 2, 1, KVH, D), (x) => dec(enc(x))));
    });
  }

  it('view is cached until a mutation and a stale view throws', () => {
    const { cache } = filled(4);
    const v1 = cache.view();
    expect(cache.view()).toBe(v1);
    expect(v1.groupSize).toBe(2);
    cache.append(randn(KVH * D, 1), randn(KVH * D, 2), textMeta(1, 4));
    expect(() => v1.keys(0)).toThrow(/layer 3 is stale/);
    expect(cache.view().length(0)).toBe(5);
    expect(() => cache.view().keys(2)).toThrow(/kv head 2 is outside \[0, 2\)/);
  });

  it('accumulates cumulative scores per slot', () => {
    const { cache } = filled(3);
    expect(cache.view().accumulated(0).cumulative).toBeUndefined();
    cache.addCumulative([Float32Array.of(1, 2, 3), Float32Array.of(4, 5, 6)]);
    cache.addCumulative([Float32Array.of(1, 1, 1), Float32Array.of(0, 0, 1)]);
    expect(Array.from(cache.view().accumulated(1).cumulative!)).toEqual([4, 5, 7]);
    cache.append(randn(KVH * D, 1), randn(KVH * D, 2), textMeta(1, 3));
    expect(Array.from(cache.view().accumulated(0).cumulative!)).toEqual([2, 3, 4, 0]);
    expect(() => cache.addCumulative([new Float32Array(4)])).toThrow(/cumulative has 1 heads; expected 2/);
  });
});

describe('LayerCache.apply compaction', () => {
  it('keeps exactly the planned slots with their metadata and scores, per head', () => {
    const { cache, k, v, meta } = filled(7);
    cache.addCumulative([Float32Array.from({ length: 7 }, (_, j) => j), Float32Array.from({ length: 7 }, (_, j) => 10 + j)]);
    const keeps = [keep(0, 2, 5, 6), keep(1, 3)];
    cache.apply(plan({ keep: keeps[0]! }, { keep: keeps[1]! }));
    for (let h = 0; h < KVH; h++) {
      const ks = Array.from(keeps[h]!);
      expect(cache.length(h)).toBe(ks.length);
      const m = cache.view().meta(h);
      ks.forEach((s, r) => {
        expect(keyRow(cache, h, r)).toEqual(Array.from(rowOf(k, s, h, KVH, D)));
        expect(valRow(cache, h, r)).toEqual(Array.from(rowOf(v, s, h, KVH, D)));
        for (const f of ['position', 'modality', 'segment', 'time', 'row', 'col', 'weight'] as const) expect(m[f][r]).toBe(meta[f][s]);
        expect(cache.view().accumulated(h).cumulative![r]).toBe(10 * h + s);
      });
    }
    expect(Array.from(cache.layout().lengths)).toEqual([4, 2]);
  });

  it('null plan leaves the layer alone; empty keep empties a head', () => {
    const { cache } = filled(3);
    cache.apply(null);
    expect(cache.length(0)).toBe(3);
    cache.apply(plan({ keep: keep() }, { keep: keep(2) }));
    expect([cache.length(0), cache.length(1)]).toEqual([0, 1]);
  });

  it('frees memory: bytes shrink by the measured factor after shrinkToFit', () => {
    const { cache } = filled(100, { dtype: 'bf16', initialCapacity: 100 });
    const before = cache.bytes();
    expect(before.kvBytes).toBe(100 * KVH * D * 2 * 2);
    expect(before.kvAllocatedBytes).toBe(before.kvBytes);
    const k25 = Int32Array.from({ length: 25 }, (_, i) => i * 4);
    cache.apply(plan({ keep: k25 }, { keep: k25 }));
    expect(cache.bytes().kvBytes / before.kvBytes).toBe(0.25);
    expect(cache.bytes().kvAllocatedBytes).toBe(before.kvAllocatedBytes); // compaction alone keeps the buffers
    cache.shrinkToFit();
    const after = cache.bytes();
    expect(after.kvAllocatedBytes / before.kvAllocatedBytes).toBe(0.25);
    expect(cache.layout().keys.byteLength).toBe(after.kvBytes / 2);
    expect(after.metaAllocatedBytes).toBe(after.metaBytes);
    expect(after.metaBytes / before.metaBytes).toBe(0.25);
    cache.shrinkToFit(3);
    expect(cache.capacity).toBe(28);
  });

  it('clone is a deep, independent copy', () => {
    const { cache } = filled(5);
    const c = cache.clone();
    c.apply(plan({ keep: keep(4) }, { keep: keep(0) }));
    expect(cache.length(0)).toBe(5);
    expect(keyRow(cache, 0, 0)).toEqual(keyRow(filled(5).cache, 0, 0));
    expect(c.length(0)).toBe(1);
  });
});

describe('LayerCache merge algebra', () => {
  const one = (m: MergeOp[], keepSlots = keep(1, 2, 4)): Plan => plan({ keep: keepSlots, merges: m }, { keep: keep(0, 1, 2, 3, 4, 5) });

  it('weighted mean by slot weights, and the target weight becomes the sum', () => {
    const { cache, k, v, meta } = filled(6);
    // Give slots weights by hand (as if they were merged before).
    const w = [1, 2, 1, 3, 1, 1];
    const fresh = new LayerCache({ layer: 3, kvHeads: KVH, headDim: D });
    const m2: TokenMeta = { ...meta, weight: Float32Array.from(w) };
    fresh.append(k, v, m2);
    fresh.apply(one([{ into: 1, from: [3, 5] }]));
    const want = (x: Float32Array) => Array.from({ length: D }, (_, i) => (2 * rowOf(x, 1, 0, KVH, D)[i]! + 3 * rowOf(x, 3, 0, KVH, D)[i]! + rowOf(x, 5, 0, KVH, D)[i]!) / 6);
    close(keyRow(fresh, 0, 0), want(k));
    close(valRow(fresh, 0, 0), want(v));
    expect(fresh.view().meta(0).weight[0]).toBe(6);
    expect(fresh.view().meta(1).weight[1]).toBe(2); // other head untouched
    expect(cache.length(0)).toBe(6);
  });

  it('explicit coef and selfCoef', () => {
    const { cache, k } = filled(6);
    cache.apply(one([{ into: 2, from: [0], coef: [3], selfCoef: 1 }]));
    close(keyRow(cache, 0, 1), Array.from({ length: D }, (_, i) => (rowOf(k, 2, 0, KVH, D)[i]! + 3 * rowOf(k, 0, 0, KVH, D)[i]!) / 4));
    expect(cache.view().meta(0).weight[1]).toBe(2);
  });

  it('pivotal-then-average: one op per source equals the scatter-mean with the target counted once', () => {
    const a = filled(6);
    const b = filled(6);
    a.cache.apply(one([{ into: 4, from: [0] }, { into: 4, from: [3] }, { into: 4, from: [5] }]));
    b.cache.apply(one([{ into: 4, from: [0, 3, 5] }]));
    const mean = Array.from({ length: D }, (_, i) => [4, 0, 3, 5].reduce((s, t) => s + rowOf(a.k, t, 0, KVH, D)[i]!, 0) / 4);
    close(keyRow(a.cache, 0, 2), mean);
    expect(keyRow(a.cache, 0, 2)).toEqual(keyRow(b.cache, 0, 2));
    expect(valRow(a.cache, 0, 2)).toEqual(valRow(b.cache, 0, 2));
    expect(a.cache.view().meta(0).weight[2]).toBe(4);
  });

  it("target 'v' merges values only; mixed targets into one slot merge keys from 'kv' ops only", () => {
    const { cache, k, v } = filled(6);
    cache.apply(one([{ into: 1, from: [0], target: 'v' }, { into: 2, from: [3], target: 'v' }, { into: 2, from: [5] }]));
    expect(keyRow(cache, 0, 0)).toEqual(Array.from(rowOf(k, 1, 0, KVH, D)));
    close(valRow(cache, 0, 0), Array.from({ length: D }, (_, i) => (rowOf(v, 1, 0, KVH, D)[i]! + rowOf(v, 0, 0, KVH, D)[i]!) / 2));
    close(keyRow(cache, 0, 1), Array.from({ length: D }, (_, i) => (rowOf(k, 2, 0, KVH, D)[i]! + rowOf(k, 5, 0, KVH, D)[i]!) / 2));
    close(valRow(cache, 0, 1), Array.from({ length: D }, (_, i) => (rowOf(v, 2, 0, KVH, D)[i]! + rowOf(v, 3, 0, KVH, D)[i]! + rowOf(v, 5, 0, KVH, D)[i]!) / 3));
  });

  it('additive (normalize: false) sums as is and keeps weights; a source may feed several targets', () => {
    const { cache, v } = filled(6);
    cache.apply(one([{ into: 2, from: [3], coef: [0.5], normalize: false, target: 'v' }, { into: 4, from: [3], normalize: false, target: 'v' }]));
    close(valRow(cache, 0, 1), Array.from({ length: D }, (_, i) => rowOf(v, 2, 0, KVH, D)[i]! + 0.5 * rowOf(v, 3, 0, KVH, D)[i]!));
    close(valRow(cache, 0, 2), Array.from({ length: D }, (_, i) => rowOf(v, 4, 0, KVH, D)[i]! + rowOf(v, 3, 0, KVH, D)[i]!));
    expect(Array.from(cache.view().meta(0).weight)).toEqual([1, 1, 1]);
  });

  it('merges read the pre-plan state, in f16 storage too', () => {
    const { cache, k } = filled(6, { dtype: 'f16' });
    cache.apply(plan({ keep: keep(3, 4), merges: [{ into: 3, from: [0, 1] }, { into: 4, from: [5] }] }, { keep: keep(0) }));
    const dec = (x: number) => f16ToF32(f32ToF16(x));
    const want = Array.from({ length: D }, (_, i) => dec(([3, 0, 1].reduce((s, t) => s + dec(rowOf(k, t, 0, KVH, D)[i]!), 0) / 3)));
    expect(keyRow(cache, 0, 0)).toEqual(want);
  });
});

describe('LayerCache retention hand-over', () => {
  it('hands exactly the retained slots (decoded keys, values, metadata, strengths) to the store', () => {
    const { cache, k, v, meta } = filled(6);
    const store = new RecordingStore();
    cache.apply(plan({ keep: keep(5), retain: keep(1, 4), retainStrength: Float32Array.of(0.5, 2) }, { keep: keep(0, 1), retain: keep(3) }), store);
    expect(store.absorbed.map((a) => [a.layer, a.head])).toEqual([[3, 0], [3, 1]]);
    const a0 = store.absorbed[0]!;
    expect(Array.from(a0.keys)).toEqual([...rowOf(k, 1, 0, KVH, D), ...rowOf(k, 4, 0, KVH, D)]);
    expect(Array.from(a0.values)).toEqual([...rowOf(v, 1, 0, KVH, D), ...rowOf(v, 4, 0, KVH, D)]);
    expect(Array.from(a0.meta.position)).toEqual([meta.position[1], meta.position[4]]);
    expect(Array.from(a0.meta.modality)).toEqual([1, 0]);
    expect(Array.from(a0.strength)).toEqual([0.5, 2]);
    expect(Array.from(store.absorbed[1]!.strength)).toEqual([1]);
    expect(cache.length(0)).toBe(1);
  });
});

describe('LayerCache rejects bad input naming what is wrong', () => {
  it('non-finite and unstorable keys/values name layer, head and token', () => {
    const c = new LayerCache({ layer: 7, kvHeads: KVH, headDim: D });
    const k = randn(3 * KVH * D, 1);
    k[(2 * KVH + 1) * D + 3] = Number.NaN;
    expect(() => c.append(k, randn(3 * KVH * D, 2), textMeta(3))).toThrow(/layer 7 append: key of token 2, kv head 1, dim 3 is NaN/);
    const v = randn(3 * KVH * D, 2);
    v[4] = Infinity;
    expect(() => c.append(randn(3 * KVH * D, 1), v, textMeta(3))).toThrow(/value of token 0, kv head 0, dim 4 is Infinity/);
    const h = new LayerCache({ layer: 1, kvHeads: KVH, headDim: D, dtype: 'f16' });
    expect(() => h.append(new Float32Array(KVH * D).fill(1e5), new Float32Array(KVH * D), textMeta(1))).toThrow(/outside the f16 range/);
    expect(c.length(0)).toBe(0);
  });
  it('shape and metadata mismatches', () => {
    const c = new LayerCache({ layer: 0, kvHeads: KVH, headDim: D });
    expect(() => c.append(new Float32Array(7), new Float32Array(2 * KVH * D), textMeta(2))).toThrow(/k has 7 elements; expected n×kvHeads×headDim = 2×2×5 = 20/);
    const bad = { ...textMeta(2), weight: new Float32Array(3) };
    expect(() => c.append(new Float32Array(20), new Float32Array(20), bad)).toThrow(/meta\.weight has length 3; expected 2/);
    const m = allocTokenMeta(1);
    m.modality[0] = 9;
    expect(() => c.append(new Float32Array(10), new Float32Array(10), m)).toThrow(/meta\.modality\[0\] = 9/);
    expect(() => new LayerCache({ layer: 0, kvHeads: 0, headDim: D })).toThrow(/kvHeads must be an integer ≥ 1/);
  });
  const cases: Array<[string, Plan, RegExp]> = [
    ['head count', { heads: [{ keep: keep(0) }] }, /has 1 head plans; expected one per KV head \(2\)/],
    ['keep type', plan({ keep: [0] as unknown as Int32Array }, { keep: keep() }), /kv head 0: keep must be an Int32Array/],
    ['keep order', plan({ keep: keep(2, 1) }, { keep: keep() }), /strictly ascending; keep\[1\] = 1 follows 2/],
    ['keep duplicate', plan({ keep: keep(1, 1) }, { keep: keep() }), /strictly ascending/],
    ['keep range', plan({ keep: keep() }, { keep: keep(4) }), /kv head 1: keep\[0\] = 4 is outside \[0, 4\)/],
    ['into not kept', plan({ keep: keep(0), merges: [{ into: 1, from: [2] }] }, { keep: keep() }), /merges\[0\]\.into = 1 is not kept/],
    ['from kept', plan({ keep: keep(0, 1), merges: [{ into: 0, from: [1] }] }, { keep: keep() }), /merges\[0\]\.from\[0\] = 1 is kept/],
    ['from twice', plan({ keep: keep(0), merges: [{ into: 0, from: [2, 2] }] }, { keep: keep() }), /from lists slot 2 twice/],
    ['from range', plan({ keep: keep(0), merges: [{ into: 0, from: [9] }] }, { keep: keep() }), /from\[0\] = 9 is outside/],
    ['double normalized source', plan({ keep: keep(0, 1), merges: [{ into: 0, from: [2] }, { into: 1, from: [2] }] }, { keep: keep() }), /slot 2 is folded into more than one normalized merge/],
    ['coef length', plan({ keep: keep(0), merges: [{ into: 0, from: [2, 3], coef: [1] }] }, { keep: keep() }), /coef must have one entry per from slot \(2\)/],
    ['disagreeing ops', plan({ keep: keep(0), merges: [{ into: 0, from: [2] }, { into: 0, from: [3], normalize: false }] }, { keep: keep() }), /must agree/],
    ['zero coefficient sum', plan({ keep: keep(0), merges: [{ into: 0, from: [2], coef: [-1], selfCoef: 1 }] }, { keep: keep() }), /coefficient sum 0/],
    ['retain without store', plan({ keep: keep(0), retain: keep(1) }, { keep: keep() }), /retains 1 slots but the policy has no RetentionStore/],
    ['retain kept', plan({ keep: keep(1), retain: keep(1) }, { keep: keep() }), /retain\[0\] = 1 is also kept/],
    ['retainStrength', plan({ keep: keep(0), retain: keep(1), retainStrength: Float32Array.of(1, 2) }, { keep: keep() }), /retainStrength must be a Float32Array with one entry per retained slot \(1\)/],
  ];
  for (const [name, p, re] of cases) {
    it(`bad plan: ${name} (and the cache is left untouched)`, () => {
      const { cache } = filled(4);
      const store = name === 'retain without store' ? undefined : new RecordingStore();
      expect(() => cache.apply(p, store)).toThrow(re);
      expect(() => cache.apply(p, store)).toThrow(/plan for layer 3/);
      expect([cache.length(0), cache.length(1)]).toEqual([4, 4]);
    });
  }
});
