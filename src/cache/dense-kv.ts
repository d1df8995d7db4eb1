/**
 * Dense float K/V stripes (f32, f16 or bf16): keys and values [kvHeads][capacity][headDim],
 * head h's valid slots at the front of its stripe. Large buffers come from allocCacheKV
 * (huge pages, cache-line rows).
 */
import type { KVBuffer } from '../attention/backend.js';
import { decodeToF32, encodeFromF32 } from '../util/half.js';
import { allocCacheKV } from './kv-alloc.js';
import type { KVStore, StoreLayout } from './kv-store.js';
import type { StorageSpec } from './storage-spec.js';

export class DenseKV implements KVStore {
  private keys: KVBuffer;
  private values: KVBuffer;

  constructor(
    readonly spec: StorageSpec,
    private readonly kvHeads: number,
    private cap: number,
  ) {
    this.keys = allocCacheKV(spec.denseDType, kvHeads * cap * spec.headDim);
    this.values = allocCacheKV(spec.denseDType, kvHeads * cap * spec.headDim);
  }

  appendHead(h: number, at: number, k: Float32Array, v: Float32Array, n: number, kvHeads: number): void {
    const d = this.spec.headDim;
    const base = h * this.cap + at;
    for (let t = 0; t < n; t++) {
      const src = (t * kvHeads + h) * d;
      encodeFromF32(k.subarray(src, src + d), this.spec.denseDType, this.keys, (base + t) * d);
      encodeFromF32(v.subarray(src, src + d), this.spec.denseDType, this.values, (base + t) * d);
    }
  }

  decodeHead(which: 'keys' | 'values', h: number, len: number): Float32Array {
    const d = this.spec.headDim;
    const off = h * this.cap * d;
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
      this.keys.copyWithin((base + r) * d, (base + s) * d, (base + s + 1) * d);
      this.values.copyWithin((base + r) * d, (base + s) * d, (base + s + 1) * d);
    }
  }

  writeSlot(h: number, slot: number, key: Float32Array | null, value: Float32Array): void {
    const at = (h * this.cap + slot) * this.spec.headDim;
    if (key) encodeFromF32(key, this.spec.denseDType, this.keys, at);
    encodeFromF32(value, this.spec.denseDType, this.values, at);
  }

  resize(cap: number, lengths: Int32Array): void {
    const d = this.spec.headDim;
    const keys = allocCacheKV(this.spec.denseDType, this.kvHeads * cap * d);
    const values = allocCacheKV(this.spec.denseDType, this.kvHeads * cap * d);
    for (let h = 0; h < this.kvHeads; h++) {
      const len = lengths[h]!;
      const from = h * this.cap * d;
      (keys as Float32Array).set((this.keys as Float32Array).subarray(from, from + len * d), h * cap * d);
      (values as Float32Array).set((this.values as Float32Array).subarray(from, from + len * d), h * cap * d);
    }
    this.keys = keys;
    this.values = values;
    this.cap = cap;
  }

  layout(): StoreLayout {
    return { dtype: this.spec.denseDType, keys: this.keys, values: this.values };
  }

  usedBytes(lengths: Int32Array): number {
    let slots = 0;
    for (const l of lengths) slots += l;
    return this.spec.bytes({ coded: 0, keyGroups: 0, dense: slots });
  }

  allocatedBytes(): number {
    return this.keys.byteLength + this.values.byteLength;
  }

  clone(): DenseKV {
    const c = Object.create(DenseKV.prototype) as DenseKV;
    Object.assign(c, this);
    c.keys = this.keys.slice();
    c.values = this.values.slice();
    return c;
  }
}
