/**
 * Attention over quantized storage: the TS reference reading the codes (KVLayout.coded) equals
 * attention over the same layer decoded to f32 (exactly: same decoded rows), and stays within a
 * stated tolerance of the f32 cache on random GQA shapes with odd head dims and lengths 0/1/odd.
 * Backends without readsCoded receive a decoded f32 copy from the session.
 */
import { describe, expect, it } from 'vitest';
import { referenceAttend } from '../../src/attention/reference-attention.js';
import { tsBackend } from '../../src/attention/ts-backend.js';
import type { ComputeBackend } from '../../src/attention/backend.js';
import { CacheSession } from '../../src/cache/cache-session.js';
import { LayerCache } from '../../src/cache/layer-cache.js';
import type { KVStorage } from '../../src/cache/storage-spec.js';
import { textMeta } from '../../src/cache/token-meta.js';
import { randomNormalArray } from '../../src/util/random.js';
import { loadAddon } from '../../src/attention/native/addon.js';
import { NativeBackend } from '../../src/attention/native/native-backend.js';
import { QUANTIZED, randomKV } from './storage-fixtures.js';

/** Max |a − b| over the outputs, relative to max |b| (outputs are convex mixtures of values ~N(0,1)). */
function relErr(a: Float32Array, b: Float32Array): number {
  let e = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    e = Math.max(e, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return m === 0 ? e : e / m;
}

/**
 * Tolerance vs the f32 cache, relative to the largest output: int8-fp8 0.07 (fp8 values alone
 * may be 2^-4 off; a one-token cache returns its value row), int4 0.08, int2 0.35 (measured
 * 0.03 / 0.034 / 0.21 at most on these shapes).
 */
const TOLERANCE: Record<string, number> = { 'int8-fp8': 0.07, int4: 0.08, int2: 0.35 };

const SHAPES = [
  { kvHeads: 2, qHeads: 6, headDim: 7, len: 0 },
  { kvHeads: 1, qHeads: 3, headDim: 5, len: 1 },
  { kvHeads: 2, qHeads: 4, headDim: 9, len: 17 },
  { kvHeads: 3, qHeads: 3, headDim: 13, len: 33 },
];

function cacheOf(storage: KVStorage, s: (typeof SHAPES)[number], seed: number): LayerCache {
  const c = new LayerCache({ layer: 0, kvHeads: s.kvHeads, headDim: s.headDim, groupSize: s.qHeads / s.kvHeads, storage });
  const { k, v } = randomKV(s.len, s.kvHeads, s.headDim, seed);
  c.append(k, v, textMeta(s.len));
  return c;
}

describe.each(QUANTIZED)('$label attention', ({ storage }) => {
  const kind = typeof storage === 'string' ? storage : storage.kind;
  it.each(SHAPES)('kvHeads $kvHeads, qHeads $qHeads, d $headDim, len $len', (s) => {
    const n = 3;
    const q = randomNormalArray(n * s.qHeads * s.headDim, 11);
    const qPositions = Int32Array.from([Math.max(0, s.len - 3), s.len, s.len + 1]);
    const needs = { cumulative: true, window: 2 };
    const attend = (c: LayerCache, coded: boolean) => referenceAttend({ q, n, qHeads: s.qHeads, qPositions, kv: c.layout(coded), scale: 1 / Math.sqrt(s.headDim), needs });
    const quant = cacheOf(storage, s, 4);
    const coded = attend(quant, true);
    expect(quant.layout(true).coded).toBeDefined();
    const dense = attend(quant, false);
    expect(Array.from(coded.out)).toEqual(Array.from(dense.out));
    expect(coded.stats.cumulative!.map((x) => Array.from(x))).toEqual(dense.stats.cumulative!.map((x) => Array.from(x)));
    const ref = attend(cacheOf('f32', s, 4), false);
    expect(relErr(coded.out, ref.out)).toBeLessThanOrEqual(TOLERANCE[kind]!);
  });
});

describe('session hands decoded f32 to a backend that cannot read codes', () => {
  it('the same outputs either way; the layout it receives is dense f32', () => {
    const seen: string[] = [];
    const denseOnly: ComputeBackend = { ...tsBackend, readsCoded: false, attend: (a) => (seen.push(a.kv.coded ? 'coded' : a.kv.dtype), tsBackend.attend(a)) };
    const shape = { numLayers: 1, qHeads: 4, kvHeads: 2, headDim: 6 };
    const run = (backend: ComputeBackend) => {
      const s = new CacheSession({ ...shape, backend, storage: { kind: 'int4', group: 4, residual: 2 } });
      const { k, v } = randomKV(11, 2, 6, 9);
      s.append(0, k, v, textMeta(11));
      return s.attend(0, randomNormalArray(11 * 4 * 6, 3), Int32Array.from({ length: 11 }, (_, i) => i), new Uint8Array(11));
    };
    const a = run(denseOnly);
    const b = run(tsBackend);
    expect(seen).toEqual(['f32']);
    expect(Array.from(a)).toEqual(Array.from(b));
  });
});

const addon = loadAddon();

describe.skipIf(!addon)('native CPU backend over quantized storage (reading the codes)', () => {
  it.each(QUANTIZED)('$label: outputs and statistics match the TS reference reading the codes', ({ storage }) => {
    const shape = { numLayers: 1, qHeads: 6, kvHeads: 2, headDim: 9 };
    const run = (backend: ComputeBackend) => {
      const s = new CacheSession({ ...shape, backend, storage });
      const { k, v } = randomKV(19, 2, 9, 21);
      s.append(0, k, v, textMeta(19));
      const out = s.attend(0, randomNormalArray(19 * 6 * 9, 5), Int32Array.from({ length: 19 }, (_, i) => i), new Uint8Array(19)).slice();
      return { out, kvBytes: s.bytes().kvBytes };
    };
    const native = run(new NativeBackend(addon!, 'cpu'));
    const ref = run(tsBackend);
    expect(native.kvBytes).toBe(ref.kvBytes);
    native.out.forEach((x, i) => expect(Math.abs(x - ref.out[i]!)).toBeLessThanOrEqual(1e-5));
  });
});
