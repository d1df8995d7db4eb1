import { describe, expect, it } from 'vitest';
import { staticLayerView } from '../../src/cache/static-view.js';
import { LayerCache } from '../../src/cache/layer-cache.js';
import { textMeta } from '../../src/cache/token-meta.js';
import { randn } from './fixtures.js';

describe('staticLayerView', () => {
  it('serves hand-built ragged heads exactly like a LayerCache view would', () => {
    const k = randn(3 * 2 * 4, 1);
    const v = randn(3 * 2 * 4, 2);
    const cache = new LayerCache({ layer: 2, kvHeads: 2, headDim: 4, groupSize: 3 });
    cache.append(k, v, textMeta(3));
    cache.apply({ heads: [{ keep: Int32Array.of(0, 1, 2) }, { keep: Int32Array.of(2) }] });
    const real = cache.view();
    const view = staticLayerView({
      layer: 2,
      headDim: 4,
      groupSize: 3,
      heads: [0, 1].map((h) => ({ keys: real.keys(h).slice(), values: real.values(h).slice(), meta: real.meta(h), cumulative: h === 0 ? Float32Array.of(1, 2, 3) : undefined })),
    });
    expect([view.layer, view.kvHeads, view.headDim, view.groupSize]).toEqual([2, 2, 4, 3]);
    expect([view.length(0), view.length(1)]).toEqual([3, 1]);
    expect(Array.from(view.keys(1))).toEqual(Array.from(real.keys(1)));
    expect(view.meta(1).position[0]).toBe(2);
    expect(Array.from(view.accumulated(0).cumulative!)).toEqual([1, 2, 3]);
    expect(view.accumulated(1)).toEqual({});
    expect(() => view.keys(2)).toThrow(/kv head 2 is outside \[0, 2\)/);
  });
  it('rejects inconsistent shapes naming the head and field', () => {
    expect(() => staticLayerView({ headDim: 4, heads: [{ keys: new Float32Array(8), values: new Float32Array(4), meta: textMeta(2) }] })).toThrow(
      /heads\[0\]\.values must be a Float32Array \[len\]\[headDim\] = 2×4; got 4/,
    );
    expect(() => staticLayerView({ headDim: 4, heads: [] })).toThrow(/at least one KV head/);
  });
});
