/**
 * One KV head in MNN-LLM's int8-fp8 storage (codec: src/cache/quantization/int8-fp8.ts).
 * Per slot: key codes [headDim] u8 + key (scale, min) [⌈headDim/G⌉][2] f32, value codes
 * [headDim] e4m3 + value scale [⌈headDim/G⌉] f32. Slots share nothing, so keep() moves bytes
 * exactly and write() re-encodes only the merged slot (error of a fresh encode).
 */
import { decodeFp8Row, decodeInt8Row, encodeFp8Row, encodeInt8Row } from './quantization/int8-fp8.js';
import type { CodedHeadArrays } from '../attention/backend.js';
import { grown, type CodedHead } from './coded-head.js';
import { channelGroups, type StorageCounts } from './storage-spec.js';

export class Int8Fp8Head implements CodedHead {
  private len = 0;
  private readonly groups: number;
  private keyCodes = new Uint8Array(0);
  /** [len][groups][2]: scale, min. */
  private keyScaleMin = new Float32Array(0);
  private valueCodes = new Uint8Array(0);
  /** [len][groups]. */
  private valueScale = new Float32Array(0);

  constructor(
    private readonly d: number,
    private readonly group: number,
  ) {
    this.groups = channelGroups(d, group);
  }

  get length(): number {
    return this.len;
  }

  append(k: Float32Array, kOff: number, v: Float32Array, vOff: number): void {
    const { d, groups: g } = this;
    const n = this.len + 1;
    this.keyCodes = grown(this.keyCodes, n * d);
    this.valueCodes = grown(this.valueCodes, n * d);
    this.keyScaleMin = grown(this.keyScaleMin, n * g * 2);
    this.valueScale = grown(this.valueScale, n * g);
    this.len = n;
    this.write(n - 1, k.subarray(kOff, kOff + d), v.subarray(vOff, vOff + d));
  }

  decode(which: 'keys' | 'values', dst: Float32Array): void {
    const { d, groups: g, group } = this;
    for (let t = 0; t < this.len; t++) {
      if (which === 'keys') decodeInt8Row(this.keyCodes, t * d, this.keyScaleMin, t * g * 2, d, group, dst, t * d);
      else decodeFp8Row(this.valueCodes, t * d, this.valueScale, t * g, d, group, dst, t * d);
    }
  }

  keep(slots: Int32Array): void {
    const { d, groups: g } = this;
    for (let r = 0; r < slots.length; r++) {
      const s = slots[r]!;
      if (s === r) continue; // ascending: s ≥ r, a forward in-place gather is safe
      this.keyCodes.copyWithin(r * d, s * d, (s + 1) * d);
      this.valueCodes.copyWithin(r * d, s * d, (s + 1) * d);
      this.keyScaleMin.copyWithin(r * g * 2, s * g * 2, (s + 1) * g * 2);
      this.valueScale.copyWithin(r * g, s * g, (s + 1) * g);
    }
    this.len = slots.length;
  }

  write(slot: number, key: Float32Array | null, value: Float32Array): void {
    const { d, groups: g, group } = this;
    if (key) encodeInt8Row(key, 0, d, group, this.keyCodes, slot * d, this.keyScaleMin, slot * g * 2);
    encodeFp8Row(value, 0, d, group, this.valueCodes, slot * d, this.valueScale, slot * g);
  }

  arrays(): CodedHeadArrays {
    return { keyCodes: this.keyCodes, valueCodes: this.valueCodes, keyScaleMin: this.keyScaleMin, valueScale: this.valueScale };
  }

  counts(): StorageCounts {
    return { coded: this.len, keyGroups: 0, dense: 0 };
  }

  allocatedBytes(): number {
    return this.keyCodes.byteLength + this.keyScaleMin.byteLength + this.valueCodes.byteLength + this.valueScale.byteLength;
  }

  clone(): Int8Fp8Head {
    const c = new Int8Fp8Head(this.d, this.group);
    c.len = this.len;
    c.keyCodes = this.keyCodes.slice();
    c.keyScaleMin = this.keyScaleMin.slice();
    c.valueCodes = this.valueCodes.slice();
    c.valueScale = this.valueScale.slice();
    return c;
  }
}
