/**
 * One KV head held as codes (a quantized storage kind): the verbs LayerCache needs, in slot
 * order (slot 0 = oldest kept token). Implemented by Int8Fp8Head and KiviHeadStore.
 */
import type { CodedHeadArrays } from '../attention/backend.js';
import type { StorageCounts } from './storage-spec.js';

export interface CodedHead {
  /** Slots held. */
  readonly length: number;
  /** Appends one token: key and value rows [headDim] f32 at kOff / vOff. */
  append(k: Float32Array, kOff: number, v: Float32Array, vOff: number): void;
  /** Decodes every slot's keys or values into dst [length][headDim] f32 (from offset 0). */
  decode(which: 'keys' | 'values', dst: Float32Array): void;
  /** Keeps exactly these slots (ascending, unique), in order, moving codes without re-quantizing. */
  keep(slots: Int32Array): void;
  /** Re-encodes slot `slot` from new rows [headDim] f32 (key null = key unchanged). */
  write(slot: number, key: Float32Array | null, value: Float32Array): void;
  /** The code arrays as they lie (views, valid until the next mutation), for native kernels. */
  arrays(): CodedHeadArrays;
  /** How many tokens are held in which form (StorageSpec.bytes turns this into bytes). */
  counts(): StorageCounts;
  /** Bytes of the typed arrays allocated (capacity included). */
  allocatedBytes(): number;
  clone(): CodedHead;
}

/** A copy of `a` with room for at least `n` elements (doubling), contents kept. */
export function grown<T extends Float32Array | Int32Array | Uint8Array>(a: T, n: number): T {
  if (n <= a.length) return a;
  let c = Math.max(a.length, 16);
  while (c < n) c *= 2;
  const b = new (a.constructor as new (n: number) => T)(c);
  b.set(a);
  return b;
}
