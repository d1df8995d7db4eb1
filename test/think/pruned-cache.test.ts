/**
 * The cache side of ThinK: a plan's KeyChannelPlan packs each head's older key rows to the kept
 * channels; kvBytes drops by exactly (d − d')·bytesPerElement per pruned key slot; keys read
 * back whole with zeros on the dropped channels; later appends, evictions, growth, shrinking
 * and clones keep every row; what cannot be pruned is refused naming the option.
 */
import { describe, expect, it } from 'vitest';
import { LayerCache } from '../../src/cache/layer-cache.js';
import { allocTokenMeta } from '../../src/cache/token-meta.js';
import { randomNormalArray } from '../../src/util/random.js';
import { buildPruned, type BuiltPruned } from './fixtures.js';

const BYTES = { f32: 4, f16: 2, bf16: 2 } as const;

/** What the cache must read back for head h: kept channels of pruned slots, zeros elsewhere. */
function expectedKeys(b: BuiltPruned, h: number): Float32Array {
  const d = b.cache.headDim;
  const want = b.keys[h]!.slice();
  const kept = new Set(b.channels[h]);
  for (let j = 0; j < b.split[h]!; j++) for (let c = 0; c < d; c++) if (!kept.has(c)) want[j * d + c] = 0;
  return want;
}

function expectRows(b: BuiltPruned): void {
  for (let h = 0; h < b.cache.kvHeads; h++) {
    expect(b.cache.decodeHead('keys', h), `keys of head ${h}`).toEqual(expectedKeys(b, h));
    expect(b.cache.decodeHead('values', h), `values of head ${h}`).toEqual(b.values[h]);
  }
}

describe('pruned key storage', () => {
  for (const dtype of ['f32', 'f16', 'bf16'] as const) {
    it(`${dtype}: kvBytes drops by exactly (d − d')·${BYTES[dtype]} per pruned key slot`, () => {
      const c = { kvHeads: 3, headDim: 10, dtype, prefill: 30, kept: [20, 11, 3], keyDim: 4, recent: 5, later: 2 };
      const b = buildPruned(c, 1);
      const slots = c.kept.reduce((s, k) => s + k + c.later, 0);
      const whole = slots * c.headDim * 2 * BYTES[dtype];
      const prunedSlots = (20 - 5) + (11 - 5) + 0; // the head of 3 slots keeps them all whole (recent 5)
      expect(b.split).toEqual([15, 6, 0]);
      expect(b.cache.bytes().kvBytes).toBe(whole - prunedSlots * (c.headDim - c.keyDim) * BYTES[dtype]);
      // The kept channel indices and split counts are metadata (Int32).
      const unpruned = new LayerCache({ layer: 0, kvHeads: 3, headDim: 10, dtype });
      const meta = allocTokenMeta(1);
      unpruned.append(new Float32Array(30), new Float32Array(30), meta);
      expect(b.cache.bytes().metaBytes - (slots / 3) * unpruned.bytes().metaBytes).toBe(3 * c.keyDim * 4 + 3 * 4);
      expectRows(b);
    });
  }

  it('keeps every row through eviction after pruning, growth, shrinkToFit and clone', () => {
    const b = buildPruned({ kvHeads: 2, headDim: 9, dtype: 'f32', prefill: 40, kept: [25, 18], keyDim: 5, recent: 4, later: 6 }, 2);
    expectRows(b);
    // Evict every third slot (pruned and whole ones alike) from both heads.
    const keep = [0, 1].map((h) => Int32Array.from({ length: b.cache.length(h) }, (_, j) => j).filter((j) => j % 3 !== 1));
    const before = b.cache.bytes().kvBytes;
    const prunedGone = keep.map((k, h) => b.split[h]! - k.filter((j) => j < b.split[h]!).length);
    const wholeGone = keep.map((k, h) => b.cache.length(h) - k.length - prunedGone[h]!);
    b.cache.apply({ heads: keep.map((k) => ({ keep: k })) });
    const d = 9;
    expect(before - b.cache.bytes().kvBytes).toBe(((prunedGone[0]! + prunedGone[1]!) * (5 + d) + (wholeGone[0]! + wholeGone[1]!) * 2 * d) * 4);
    keep.forEach((k, h) => {
      b.keys[h] = Float32Array.from(Array.from(k).flatMap((j) => Array.from(b.keys[h]!.subarray(j * d, (j + 1) * d))));
      b.values[h] = Float32Array.from(Array.from(k).flatMap((j) => Array.from(b.values[h]!.subarray(j * d, (j + 1) * d))));
      b.split[h] = b.split[h]! - prunedGone[h]!;
    });
    expectRows(b);
    expect(b.cache.layout().prunedKeys!.split).toEqual(Int32Array.from(b.split));
    b.cache.shrinkToFit(0);
    expectRows(b);
    const copy = b.cache.clone();
    // Growing past capacity moves the packed rows to the new stripes.
    const more = 40;
    const k = randomNormalArray(more * 2 * d, 7);
    const v = randomNormalArray(more * 2 * d, 8);
    const meta = allocTokenMeta(more);
    meta.position.set(Array.from({ length: more }, (_, i) => 100 + i));
    b.cache.append(k, v, meta);
    for (let h = 0; h < 2; h++) {
      const rows = (x: Float32Array) => Float32Array.from(Array.from({ length: more }, (_, t) => Array.from(x.subarray((t * 2 + h) * d, (t * 2 + h + 1) * d))).flat());
      const keysNow = b.cache.decodeHead('keys', h);
      expect(keysNow.subarray(0, b.keys[h]!.length)).toEqual(expectedKeys(b, h));
      expect(keysNow.subarray(b.keys[h]!.length)).toEqual(rows(k));
    }
    // The clone did not see the append and reads its own rows.
    for (let h = 0; h < 2; h++) expect(copy.decodeHead('keys', h)).toEqual(expectedKeys(b, h));
    expect(copy.prunedKeys()!.split).toEqual(Int32Array.from(b.split));
  });

  it('a merge into a pruned slot stores the merged key on the kept channels', () => {
    const b = buildPruned({ kvHeads: 1, headDim: 6, dtype: 'f32', prefill: 8, kept: [8], keyDim: 3, recent: 2, later: 0 }, 3);
    b.cache.apply({ heads: [{ keep: Int32Array.of(0, 2, 3, 4, 5, 6, 7), merges: [{ into: 0, from: [1] }] }] });
    const d = 6;
    const expanded = expectedKeys({ ...b, split: [6] }, 0);
    const merged = expanded.subarray(0, d).map((x, c) => (x + expanded[d + c]!) / 2);
    expect(b.cache.decodeHead('keys', 0).subarray(0, d)).toEqual(merged);
    expect(b.cache.layout().prunedKeys!.split[0]).toBe(5);
  });

  it('refuses what it cannot prune, naming the option', () => {
    const meta = allocTokenMeta(4);
    meta.position.set([0, 1, 2, 3]);
    const q = new LayerCache({ layer: 2, kvHeads: 1, headDim: 4, storage: 'int8-fp8' });
    q.append(randomNormalArray(16, 1), randomNormalArray(16, 2), meta);
    const plan = { heads: [{ keep: Int32Array.of(0, 1, 2, 3) }], keyChannels: { channels: [Int32Array.of(0, 2)], recent: 0 } };
    expect(() => q.apply(plan)).toThrow(/layer 2: key-channel pruning \(ThinK\) needs dense keys, but storage is "int8-fp8" \(codes\); set the storage option to f32, f16 or bf16/);
    const f = new LayerCache({ layer: 2, kvHeads: 1, headDim: 4 });
    f.append(randomNormalArray(16, 1), randomNormalArray(16, 2), meta);
    const bad = (keyChannels: unknown, msg: RegExp) => expect(() => f.apply({ heads: [{ keep: Int32Array.of(0, 1, 2, 3) }], keyChannels } as never)).toThrow(msg);
    bad({ channels: [Int32Array.of(2, 1)], recent: 0 }, /keyChannels\.channels\[0\]\[1\] = 1; channels must be strictly ascending in \[0, headDim = 4\)/);
    bad({ channels: [Int32Array.of(0, 4)], recent: 0 }, /keyChannels\.channels\[0\]\[1\] = 4/);
    bad({ channels: [], recent: 0 }, /keyChannels\.channels has 0 entries; expected one per KV head \(1\)/);
    bad({ channels: [Int32Array.of(0)], recent: -1 }, /keyChannels\.recent must be an integer ≥ 0; got -1/);
    bad({ channels: [new Int32Array(0)], recent: 0 }, /keyChannels\.channels\[0\] must keep at least one channel/);
    // Nothing was touched by the refused plans.
    expect(f.prunedKeys()).toBeUndefined();
    f.apply(plan);
    expect(() => f.apply(plan)).toThrow(/already pruned; ThinK prunes once per layer/);
    expect(() => f.rerotateKeys(4, Float64Array.of(1, 0.1))).toThrow(/layer 2: key rerotation .* keys are pruned \(ThinK\)/);
  });

  it('every KV head of a layer keeps the same number of channels', () => {
    const meta = allocTokenMeta(3);
    const c = new LayerCache({ layer: 1, kvHeads: 2, headDim: 4 });
    c.append(randomNormalArray(24, 1), randomNormalArray(24, 2), meta);
    const keep = { keep: Int32Array.of(0, 1, 2) };
    expect(() => c.apply({ heads: [keep, keep], keyChannels: { channels: [Int32Array.of(0, 1), Int32Array.of(2)], recent: 0 } })).toThrow(
      /keyChannels\.channels\[1\] keeps 1 channels; every KV head of a layer keeps the same count \(2\)/,
    );
  });
});
