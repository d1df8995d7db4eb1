/** Builders shared by the storage tests (not a test file itself). */
import { LayerCache } from '../../src/cache/layer-cache.js';
import type { KVStorage } from '../../src/cache/storage-spec.js';
import { textMeta } from '../../src/cache/token-meta.js';
import { randomNormalArray } from '../../src/util/random.js';

/** Every quantized kind with small G / R so short sequences exercise groups and the residual. */
export const QUANTIZED: { label: string; storage: KVStorage }[] = [
  { label: 'int8-fp8 G=4', storage: { kind: 'int8-fp8', group: 4 } },
  { label: 'int4 G=4 R=3', storage: { kind: 'int4', group: 4, residual: 3 } },
  { label: 'int2 G=3 R=0', storage: { kind: 'int2', group: 3, residual: 0 } },
];

/** Random token-major K and V [n][kvHeads][headDim] with an outlier channel in the keys (channel 1 × 8). */
export function randomKV(n: number, kvHeads: number, d: number, seed: number): { k: Float32Array; v: Float32Array } {
  const k = randomNormalArray(n * kvHeads * d, seed);
  for (let i = 1; i < k.length; i += d) k[i] *= 8;
  return { k, v: randomNormalArray(n * kvHeads * d, seed + 1) };
}

/** A cache of n random tokens in this storage; returns the f32 inputs too. */
export function filledCache(storage: KVStorage, n: number, kvHeads: number, d: number, seed = 1): { cache: LayerCache; k: Float32Array; v: Float32Array } {
  const cache = new LayerCache({ layer: 0, kvHeads, headDim: d, storage, initialCapacity: 2 });
  const { k, v } = randomKV(n, kvHeads, d, seed);
  // Two appends, so tokens arrive both in bulk and after the first groups were coded.
  const m = Math.floor(n / 2);
  cache.append(k.slice(0, m * kvHeads * d), v.slice(0, m * kvHeads * d), textMeta(m));
  cache.append(k.slice(m * kvHeads * d), v.slice(m * kvHeads * d), textMeta(n - m, m));
  return { cache, k, v };
}

/** Rows of head h from token-major x: [n][headDim]. */
export function headRows(x: Float32Array, n: number, kvHeads: number, d: number, h: number): Float32Array {
  const out = new Float32Array(n * d);
  for (let t = 0; t < n; t++) out.set(x.subarray((t * kvHeads + h) * d, (t * kvHeads + h + 1) * d), t * d);
  return out;
}
