/**
 * Where a LayerCache keeps its keys and values: dense float stripes (DenseKV), codes per KV
 * head (CodedKV), or dense stripes split between DRAM and a tier file (TieredKV). LayerCache owns lengths, metadata and capacity; the store owns the K/V bytes
 * and the verbs that move them. Slot indices are per head, oldest first.
 */
import type { CodedKV, KVBuffer, KVDType, TierLayout } from '../attention/backend.js';
import type { StorageSpec } from './storage-spec.js';
import type { PrunedKeyLayout } from '../attention/pruned-keys.js';
import type { TierFile } from './tier-file.js';

/** What attention kernels read: dense buffers [kvHeads][capacity][headDim], or codes. */
export interface StoreLayout {
  dtype: KVDType;
  keys: KVBuffer;
  values: KVBuffer;
  coded?: CodedKV;
  /** Keys pruned along headDim (DenseKV after ThinK). */
  prunedKeys?: PrunedKeyLayout;
  /** The DRAM–flash tier's cold part (TieredKV): keys / values then hold the hot rows. */
  tier?: TierLayout;
}

export interface KVStore {
  readonly spec: StorageSpec;
  /** Writes tokens 0..n-1 of head h at slots at..at+n-1: k, v [n][kvHeads][headDim] f32 token-major. */
  appendHead(h: number, at: number, k: Float32Array, v: Float32Array, n: number, kvHeads: number): void;
  /** Slots 0..len-1 of head h as [len][headDim] f32 (may alias dense f32 storage). */
  decodeHead(which: 'keys' | 'values', h: number, len: number): Float32Array;
  /** Keeps these slots of head h (ascending, unique) in order, moving bytes without re-encoding. */
  keepHead(h: number, keep: Int32Array): void;
  /** Re-encodes one slot of head h from rows [headDim] f32 (key null = unchanged). */
  writeSlot(h: number, slot: number, key: Float32Array | null, value: Float32Array): void;
  /** The cache's stripe capacity changed to cap (heads hold lengths[h] valid slots). */
  resize(cap: number, lengths: Int32Array): void;
  /** Layout for kernels; `dense` asks for f32 stripes (a decoded scratch copy when coded). */
  layout(dense: boolean): StoreLayout;
  /** Exact K+V bytes of the valid slots (codes + scales + dense rows). */
  usedBytes(lengths: Int32Array): number;
  allocatedBytes(): number;
  /** K+V bytes of the valid slots held on file (the DRAM–flash tier); absent: none. */
  fileBytes?(): number;
  /** How many of head h's slots are on file (by age its oldest); absent: none. */
  coldSlots?(h: number): number;
  /** Asks the OS to read the slots held on file ahead of use; absent: nothing on file. */
  prefetch?(): void;
  /** Returns the disk of the slots on file; the store must not be used afterwards. */
  release?(): void;
  /** A deep copy; a store with slots on file puts the copy's in `tierFile` (default its own file). */
  clone(tierFile?: TierFile): KVStore;
}
