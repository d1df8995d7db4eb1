/**
 * Checks and small slot-copy helpers of LayerCache (kept apart so the cache reads as its verbs).
 */
import type { KVDType } from '../attention/backend.js';
import { NUM_MODALITIES } from './modality.js';
import { allocTokenMeta, TOKEN_META_FIELDS, type TokenMeta } from './token-meta.js';
import type { LayerCacheOptions } from './layer-cache.js';

/** Smallest magnitude that rounds to ±Infinity when encoded (round-to-nearest-even). */
const OVERFLOW: Record<KVDType, number> = { f32: Infinity, f16: 65520, bf16: 3.3961775292304e38 };

export function validateLayerOptions(o: LayerCacheOptions): void {
  const where = 'LayerCache options';
  if (!o || typeof o !== 'object') throw new TypeError(`${where} must be an object { layer, kvHeads, headDim, ... }`);
  const int = (name: string, x: unknown, min: number): void => {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < min) throw new RangeError(`${where}.${name} must be an integer ≥ ${min}; got ${String(x)}`);
  };
  int('layer', o.layer, 0);
  int('kvHeads', o.kvHeads, 1);
  int('headDim', o.headDim, 1);
  if (o.groupSize !== undefined) int('groupSize', o.groupSize, 1);
  if (o.initialCapacity !== undefined) int('initialCapacity', o.initialCapacity, 0);
  if (o.dtype !== undefined && !(o.dtype in OVERFLOW)) throw new RangeError(`${where}.dtype must be 'f32', 'f16' or 'bf16'; got ${String(o.dtype)}`);
}

/** Checks an append tensor x [n][kvHeads][headDim] f32: type, length, finite, storable in dtype. */
export function checkAppendable(x: Float32Array, name: 'k' | 'v', n: number, kvHeads: number, d: number, dtype: KVDType, where: string): void {
  if (!(x instanceof Float32Array)) throw new TypeError(`${where}: ${name} must be a Float32Array [n][kvHeads][headDim]`);
  const want = n * kvHeads * d;
  if (x.length !== want) {
    throw new RangeError(`${where}: ${name} has ${x.length} elements; expected n×kvHeads×headDim = ${n}×${kvHeads}×${d} = ${want} (n = meta length)`);
  }
  const limit = OVERFLOW[dtype];
  for (let i = 0; i < want; i++) {
    const a = x[i]!;
    if (Number.isFinite(a) && Math.abs(a) < limit) continue;
    const t = Math.floor(i / (kvHeads * d));
    const h = Math.floor(i / d) % kvHeads;
    const why = Number.isFinite(a) ? `outside the ${dtype} range` : 'not finite';
    throw new RangeError(`${where}: ${name === 'k' ? 'key' : 'value'} of token ${t}, kv head ${h}, dim ${i % d} is ${a} (${why})`);
  }
}

/** Checks a merged row [headDim] can be stored in dtype. */
export function checkStorable(row: Float32Array, dtype: KVDType, where: string): void {
  const limit = OVERFLOW[dtype];
  for (let i = 0; i < row.length; i++) {
    const a = row[i]!;
    if (!(Math.abs(a) < limit)) throw new RangeError(`${where}[${i}] = ${a} is not storable as ${dtype}`);
  }
}

export function checkAppendMeta(meta: TokenMeta, n: number, where: string): void {
  for (let i = 0; i < n; i++) {
    if (meta.modality[i]! >= NUM_MODALITIES) throw new RangeError(`${where}: meta.modality[${i}] = ${meta.modality[i]} is not a modality code 0..${NUM_MODALITIES - 1}`);
    const w = meta.weight[i]!;
    if (!Number.isFinite(w) || w < 0) throw new RangeError(`${where}: meta.weight[${i}] = ${w}; expected a finite number ≥ 0`);
  }
}

/** Copies every metadata field of slot `from` of src into slot `to` of dst. */
export function copyMetaSlot(src: TokenMeta, from: number, dst: TokenMeta, to: number): void {
  dst.position[to] = src.position[from]!;
  dst.modality[to] = src.modality[from]!;
  dst.segment[to] = src.segment[from]!;
  dst.time[to] = src.time[from]!;
  dst.row[to] = src.row[from]!;
  dst.col[to] = src.col[from]!;
  dst.weight[to] = src.weight[from]!;
}

/** Bytes per slot of the metadata arrays, measured from their element types. */
export function metaBytesPerSlot(meta: TokenMeta): number {
  let b = 0;
  for (const f of TOKEN_META_FIELDS) b += meta[f].BYTES_PER_ELEMENT;
  return b;
}

/**
 * Copies slots of one head out of the cache: rows of keys / values [len][headDim] f32 (the
 * head decoded) into new [count][headDim] arrays, with their metadata from `meta` (whose head
 * stripe starts at `base`).
 */
export function gatherSlots(slots: Int32Array, headDim: number, keys: Float32Array, values: Float32Array, meta: TokenMeta, base: number): { keys: Float32Array; values: Float32Array; meta: TokenMeta } {
  const count = slots.length;
  const k = new Float32Array(count * headDim);
  const v = new Float32Array(count * headDim);
  const out = allocTokenMeta(count);
  for (let i = 0; i < count; i++) {
    const s = slots[i]!;
    k.set(keys.subarray(s * headDim, (s + 1) * headDim), i * headDim);
    v.set(values.subarray(s * headDim, (s + 1) * headDim), i * headDim);
    copyMetaSlot(meta, base + s, out, i);
  }
  return { keys: k, values: v, meta: out };
}
