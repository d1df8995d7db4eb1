/**
 * Dense float K/V stripes (f32, f16 or bf16): keys and values [kvHeads][capacity][headDim],
 * head h's valid slots at the front of its stripe. Large buffers come from allocCacheKV
 * (huge pages, cache-line rows). After pruneKeys (ThinK) a head's oldest key rows are packed
 * to the kept channels (layout: src/attention/pruned-keys.ts); values never change width.
 */
import type { KVBuffer } from '../attention/backend.js';
import { expandPrunedKeys, prunedKeyElements, prunedKeyOffset, type PrunedKeyLayout } from '../attention/pruned-keys.js';
import { bytesPerElement, decodeToF32, encodeFromF32 } from '../util/half.js';
import { allocCacheKV } from './kv-alloc.js';
import type { KVStore, StoreLayout } from './kv-store.js';
import type { StorageSpec } from './storage-spec.js';

export class DenseKV implements KVStore {
  private keys: KVBuffer;
  private values: KVBuffer;
  /** Pruned key rows (null: every key row is headDim wide). */
  private pruned: PrunedKeyLayout | null = null;

  constructor(
    readonly spec: StorageSpec,
    private readonly kvHeads: number,
    private cap: number,
  ) {
    this.keys = allocCacheKV(spec.denseDType, kvHeads * cap * spec.headDim);
    this.values = allocCacheKV(spec.denseDType, kvHeads * cap * spec.headDim);
  }

  /** Element offset of slot's key row (packed rows first when pruned). */
  private keyAt(h: number, slot: number): number {
    const d = this.spec.headDim;
    return this.pruned ? prunedKeyOffset(this.pruned, h, slot, this.cap, d) : (h * this.cap + slot) * d;
  }

  /** Elements of slot's key row. */
  private keyWidth(h: number, slot: number): number {
    return this.pruned && slot < this.pruned.split[h]! ? this.pruned.keyDim : this.spec.headDim;
  }

  /** The key row of head h, slot as stored: packed to the kept channels when that slot is pruned. */
  private storedKey(h: number, slot: number, row: Float32Array): Float32Array {
    if (!this.pruned || slot >= this.pruned.split[h]!) return row;
    const kd = this.pruned.keyDim;
    const ch = this.pruned.channels.subarray(h * kd, (h + 1) * kd);
    return Float32Array.from(ch, (c) => row[c]!);
  }

  appendHead(h: number, at: number, k: Float32Array, v: Float32Array, n: number, kvHeads: number): void {
    const d = this.spec.headDim;
    const base = h * this.cap + at;
    for (let t = 0; t < n; t++) {
      const src = (t * kvHeads + h) * d;
      // Appended slots are never pruned (split ≤ length): full key rows.
      encodeFromF32(k.subarray(src, src + d), this.spec.denseDType, this.keys, this.keyAt(h, at + t));
      encodeFromF32(v.subarray(src, src + d), this.spec.denseDType, this.values, (base + t) * d);
    }
  }

  decodeHead(which: 'keys' | 'values', h: number, len: number): Float32Array {
    const d = this.spec.headDim;
    const off = h * this.cap * d;
    if (which === 'keys' && this.pruned) {
      const packed = decodeToF32(this.keys, this.spec.denseDType, off, prunedKeyElements(this.pruned, h, len, d));
      return expandPrunedKeys(this.pruned, h, packed, len, d, new Float32Array(len * d));
    }
    const buf = which === 'keys' ? this.keys : this.values;
    if (this.spec.denseDType === 'f32') return (buf as Float32Array).subarray(off, off + len * d);
    return decodeToF32(buf, this.spec.denseDType, off, len * d);
  }

  keepHead(h: number, keep: Int32Array): void {
    const d = this.spec.headDim;
    const base = h * this.cap;
    for (let r = 0; r < keep.length; r++) {
      const s = keep[r]!;
      if (s === r) continue; // keep is ascending, so s ≥ r: forward gather is safe in place
      this.values.copyWithin((base + r) * d, (base + s) * d, (base + s + 1) * d);
    }
    if (!this.pruned) {
      for (let r = 0; r < keep.length; r++) {
        const s = keep[r]!;
        if (s !== r) this.keys.copyWithin((base + r) * d, (base + s) * d, (base + s + 1) * d);
      }
      return;
    }
    // Kept pruned slots stay pruned (they come first); destinations never pass their sources.
    const oldSplit = this.pruned.split[h]!;
    let newSplit = 0;
    while (newSplit < keep.length && keep[newSplit]! < oldSplit) newSplit++;
    // Offsets as f64: a large layer's element offsets pass Int32's range.
    const from = Float64Array.from(keep, (s) => this.keyAt(h, s));
    const width = Float64Array.from(keep, (s) => this.keyWidth(h, s));
    this.pruned.split[h] = newSplit;
    for (let r = 0; r < keep.length; r++) {
      const to = this.keyAt(h, r);
      if (to !== from[r]) this.keys.copyWithin(to, from[r]!, from[r]! + width[r]!);
    }
  }

  writeSlot(h: number, slot: number, key: Float32Array | null, value: Float32Array): void {
    if (key) encodeFromF32(this.storedKey(h, slot, key), this.spec.denseDType, this.keys, this.keyAt(h, slot));
    encodeFromF32(value, this.spec.denseDType, this.values, (h * this.cap + slot) * this.spec.headDim);
  }

  /**
   * Packs the key rows of slots 0..split[h]−1 of every head to channels [kvHeads][keyDim]
   * (ascending per head; checked by the caller): their dropped channels' bytes are gone.
   */
  pruneKeys(keyDim: number, channels: Int32Array, split: Int32Array): void {
    if (this.pruned) throw new Error(`pruneKeys: keys are already pruned to ${this.pruned.keyDim} channels (ThinK prunes once)`);
    const d = this.spec.headDim;
    const dt = this.spec.denseDType;
    const next: PrunedKeyLayout = { keyDim, channels: channels.slice(), split: split.slice() };
    for (let h = 0; h < this.kvHeads; h++) {
      const s = next.split[h]!;
      const ch = next.channels.subarray(h * keyDim, (h + 1) * keyDim);
      const base = h * this.cap * d;
      const row = new Float32Array(d);
      // Rows only move towards the stripe start, so an in-place forward pass is safe.
      for (let j = 0; j < s; j++) {
        decodeToF32(this.keys, dt, base + j * d, d, row);
        encodeFromF32(Float32Array.from(ch, (c) => row[c]!), dt, this.keys, base + j * keyDim);
      }
      this.keys.copyWithin(base + s * keyDim, base + s * d, base + this.cap * d);
    }
    this.pruned = next;
  }

  /** The pruned-key layout (a live view; null when no key is pruned). */
  prunedKeys(): PrunedKeyLayout | null {
    return this.pruned;
  }

  resize(cap: number, lengths: Int32Array): void {
    const d = this.spec.headDim;
    const keys = allocCacheKV(this.spec.denseDType, this.kvHeads * cap * d);
    const values = allocCacheKV(this.spec.denseDType, this.kvHeads * cap * d);
    for (let h = 0; h < this.kvHeads; h++) {
      const len = lengths[h]!;
      const from = h * this.cap * d;
      const keyElems = this.pruned ? prunedKeyElements(this.pruned, h, len, d) : len * d;
      (keys as Float32Array).set((this.keys as Float32Array).subarray(from, from + keyElems), h * cap * d);
      (values as Float32Array).set((this.values as Float32Array).subarray(from, from + len * d), h * cap * d);
    }
    this.keys = keys;
    this.values = values;
    this.cap = cap;
  }

  layout(): StoreLayout {
    return { dtype: this.spec.denseDType, keys: this.keys, values: this.values, ...(this.pruned ? { prunedKeys: this.pruned } : {}) };
  }

  usedBytes(lengths: Int32Array): number {
    let slots = 0;
    for (const l of lengths) slots += l;
    const full = this.spec.bytes({ coded: 0, keyGroups: 0, dense: slots });
    if (!this.pruned) return full;
    // Each pruned key slot holds keyDim of headDim channels.
    let prunedSlots = 0;
    for (const s of this.pruned.split) prunedSlots += s;
    return full - prunedSlots * (this.spec.headDim - this.pruned.keyDim) * bytesPerElement(this.spec.denseDType);
  }

  allocatedBytes(): number {
    return this.keys.byteLength + this.values.byteLength;
  }

  clone(): DenseKV {
    const c = Object.create(DenseKV.prototype) as DenseKV;
    Object.assign(c, this);
    c.keys = this.keys.slice();
    c.values = this.values.slice();
    c.pruned = this.pruned ? { keyDim: this.pruned.keyDim, channels: this.pruned.channels.slice(), split: this.pruned.split.slice() } : null;
    return c;
  }
}
