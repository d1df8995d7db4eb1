/**
 * Quantized K/V of one layer: one CodedHead per KV head (int8-fp8 or KIVI), each growing on
 * its own. Kernels that read codes get `coded` (decode one head at a time); the others get a
 * decoded f32 scratch copy [kvHeads][capacity][headDim] — a correctness path that costs f32
 * bandwidth, not the byte-limit path (see docs/kv-storage.md).
 */
import type { CodedKV } from '../attention/backend.js';
import type { CodedHead } from './coded-head.js';
import { Int8Fp8Head } from './int8-fp8-head.js';
import { KiviHeadStore } from './kivi-head.js';
import type { KVStore, StoreLayout } from './kv-store.js';
import type { StorageSpec } from './storage-spec.js';

const EMPTY = new Float32Array(0);

function newHead(spec: StorageSpec): CodedHead {
  if (spec.kind === 'int8-fp8') return new Int8Fp8Head(spec.headDim, spec.group);
  if (spec.kind === 'int4' || spec.kind === 'int2') return new KiviHeadStore(spec.headDim, spec.bits, spec.group, spec.residual);
  throw new RangeError(`CodedKV: storage ${spec.kind} is not a quantized kind`);
}

export class QuantizedKV implements KVStore {
  private heads: CodedHead[];
  private cap: number;
  private readonly codedView: CodedKV;

  constructor(
    readonly spec: StorageSpec,
    kvHeads: number,
    cap: number,
  ) {
    this.heads = Array.from({ length: kvHeads }, () => newHead(spec));
    this.cap = cap;
    this.codedView = {
      storage: spec.kind,
      group: spec.group,
      decodeHead: (which, h, dst) => this.heads[h]!.decode(which, dst),
      headArrays: (h) => this.heads[h]!.arrays(),
    };
  }

  appendHead(h: number, at: number, k: Float32Array, v: Float32Array, n: number, kvHeads: number): void {
    const head = this.heads[h]!;
    if (head.length !== at) throw new Error(`CodedKV: head ${h} holds ${head.length} slots; append at ${at}`);
    const d = this.spec.headDim;
    for (let t = 0; t < n; t++) head.append(k, (t * kvHeads + h) * d, v, (t * kvHeads + h) * d);
  }

  decodeHead(which: 'keys' | 'values', h: number, len: number): Float32Array {
    const out = new Float32Array(len * this.spec.headDim);
    this.heads[h]!.decode(which, out);
    return out;
  }

  keepHead(h: number, keep: Int32Array): void {
    this.heads[h]!.keep(keep);
  }

  writeSlot(h: number, slot: number, key: Float32Array | null, value: Float32Array): void {
    this.heads[h]!.write(slot, key, value);
  }

  resize(cap: number): void {
    this.cap = cap;
  }

  layout(dense: boolean): StoreLayout {
    if (!dense) return { dtype: 'f32', keys: EMPTY, values: EMPTY, coded: this.codedView };
    const d = this.spec.headDim;
    const keys = new Float32Array(this.heads.length * this.cap * d);
    const values = new Float32Array(this.heads.length * this.cap * d);
    this.heads.forEach((head, h) => {
      head.decode('keys', keys.subarray(h * this.cap * d));
      head.decode('values', values.subarray(h * this.cap * d));
    });
    return { dtype: 'f32', keys, values };
  }

  usedBytes(): number {
    return this.heads.reduce((s, head) => s + this.spec.bytes(head.counts()), 0);
  }

  allocatedBytes(): number {
    return this.heads.reduce((s, head) => s + head.allocatedBytes(), 0);
  }

  clone(): QuantizedKV {
    const c = new QuantizedKV(this.spec, 0, this.cap);
    c.heads = this.heads.map((head) => head.clone());
    return c;
  }
}
