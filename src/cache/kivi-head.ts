/**
 * One KV head in KIVI storage (`int4` / `int2`; codec primitives: src/cache/quantization/
 * kivi.ts). Slots are ordered oldest first: `coded` tokens as packed codes, then a residual
 * window of f32 rows. Appends land in the residual; once it holds R + G tokens its oldest G
 * become one key group (per-channel scale and minimum over those G tokens) and G value rows
 * (per token, scale and minimum per group of G channels) — so the residual holds R..R+G−1.
 *
 * Layout: key / value codes [coded][⌈headDim·bits/8⌉] (each row starts on a byte); key groups:
 * lengths [groups] and (scale, min) [groups][headDim][2] f32; value (scale, min)
 * [coded][⌈headDim/G⌉][2] f32; residual keys / values [residual][headDim] f32.
 *
 * keep(): a surviving token keeps its codes and its group's scale and minimum; a key group that
 * loses members just gets shorter (its range still covers the survivors: no re-quantizing, no
 * new error); a group that loses all members disappears. write() (merges): a residual slot is
 * overwritten in f32; a coded slot's value row is re-encoded alone (error ≤ its new scale/2);
 * its key group is decoded, the slot replaced and the group re-encoded (the other members' keys
 * move by at most old scale/2 + new scale/2 per channel).
 */
import { groupRange, kiviCode, kiviGetCode, kiviPutCode, kiviScale } from './quantization/kivi.js';
import type { CodedHeadArrays } from '../attention/backend.js';
import { grown, type CodedHead } from './coded-head.js';
import { channelGroups, codeRowBytes, type StorageCounts } from './storage-spec.js';

export class KiviHeadStore implements CodedHead {
  private coded = 0;
  private groups = 0;
  private resLen = 0;
  private readonly rowBytes: number;
  private readonly valueGroups: number;
  private keyCodes = new Uint8Array(0);
  private valueCodes = new Uint8Array(0);
  /** [groups] tokens in each key group (1..G). */
  private groupLen = new Int32Array(0);
  /** [groups][headDim][2]: scale, min. */
  private keyScaleMin = new Float32Array(0);
  /** [coded][valueGroups][2]: scale, min. */
  private valueScaleMin = new Float32Array(0);
  private resKeys = new Float32Array(0);
  private resValues = new Float32Array(0);

  constructor(
    private readonly d: number,
    private readonly bits: number,
    private readonly group: number,
    private readonly residual: number,
  ) {
    this.rowBytes = codeRowBytes(d, bits);
    this.valueGroups = channelGroups(d, group);
  }

  get length(): number {
    return this.coded + this.resLen;
  }

  append(k: Float32Array, kOff: number, v: Float32Array, vOff: number): void {
    const d = this.d;
    const n = this.resLen + 1;
    this.resKeys = grown(this.resKeys, n * d);
    this.resValues = grown(this.resValues, n * d);
    this.resKeys.set(k.subarray(kOff, kOff + d), this.resLen * d);
    this.resValues.set(v.subarray(vOff, vOff + d), this.resLen * d);
    this.resLen = n;
    if (this.resLen >= this.residual + this.group) this.codeOldestResidual();
  }

  decode(which: 'keys' | 'values', dst: Float32Array): void {
    const { d, bits, rowBytes, valueGroups: vg, group } = this;
    if (which === 'keys') {
      for (let g = 0, t = 0; g < this.groups; g++) for (let end = t + this.groupLen[g]!; t < end; t++) this.decodeKeyRow(g, t, dst, t * d);
    } else {
      for (let t = 0; t < this.coded; t++) {
        const row = t * rowBytes * (8 / bits); // element index of the row's first code
        for (let c = 0; c < d; c++) {
          const sm = (t * vg + Math.floor(c / group)) * 2;
          dst[t * d + c] = this.valueScaleMin[sm + 1]! + this.valueScaleMin[sm]! * kiviGetCode(this.valueCodes, row + c, bits);
        }
      }
    }
    dst.set((which === 'keys' ? this.resKeys : this.resValues).subarray(0, this.resLen * d), this.coded * d);
  }

  keep(slots: Int32Array): void {
    const { d, rowBytes: rb, valueGroups: vg } = this;
    let r = 0;
    let si = 0;
    let kept = 0;
    for (let g = 0, start = 0; g < this.groups; g++) {
      const end = start + this.groupLen[g]!;
      let members = 0;
      for (; si < slots.length && slots[si]! < end; si++, r++, members++) {
        const s = slots[si]!;
        this.keyCodes.copyWithin(r * rb, s * rb, (s + 1) * rb);
        this.valueCodes.copyWithin(r * rb, s * rb, (s + 1) * rb);
        this.valueScaleMin.copyWithin(r * vg * 2, s * vg * 2, (s + 1) * vg * 2);
      }
      if (members > 0) {
        this.groupLen[kept] = members;
        this.keyScaleMin.copyWithin(kept * d * 2, g * d * 2, (g + 1) * d * 2);
        kept++;
      }
      start = end;
    }
    const oldCoded = this.coded;
    this.coded = r;
    this.groups = kept;
    let q = 0;
    for (; si < slots.length; si++, q++) {
      const s = slots[si]! - oldCoded;
      this.resKeys.copyWithin(q * d, s * d, (s + 1) * d);
      this.resValues.copyWithin(q * d, s * d, (s + 1) * d);
    }
    this.resLen = q;
  }

  write(slot: number, key: Float32Array | null, value: Float32Array): void {
    const d = this.d;
    if (slot >= this.coded) {
      const r = slot - this.coded;
      if (key) this.resKeys.set(key, r * d);
      this.resValues.set(value, r * d);
      return;
    }
    this.encodeValueRow(value, 0, slot);
    if (!key) return;
    let g = 0;
    let start = 0;
    while (start + this.groupLen[g]! <= slot) start += this.groupLen[g++]!;
    const len = this.groupLen[g]!;
    const rows = new Float32Array(len * d);
    for (let t = 0; t < len; t++) this.decodeKeyRow(g, start + t, rows, t * d);
    rows.set(key, (slot - start) * d);
    this.encodeKeyGroup(rows, start, len, g);
  }

  arrays(): CodedHeadArrays {
    return {
      keyCodes: this.keyCodes,
      valueCodes: this.valueCodes,
      keyScaleMin: this.keyScaleMin,
      valueScale: this.valueScaleMin,
      coded: this.coded,
      keyGroups: this.groups,
      groupLen: this.groupLen,
      residualKeys: this.resKeys,
      residualValues: this.resValues,
    };
  }

  counts(): StorageCounts {
    return { coded: this.coded, keyGroups: this.groups, dense: this.resLen };
  }

  allocatedBytes(): number {
    return [this.keyCodes, this.valueCodes, this.groupLen, this.keyScaleMin, this.valueScaleMin, this.resKeys, this.resValues].reduce((s, a) => s + a.byteLength, 0);
  }

  clone(): KiviHeadStore {
    const c = new KiviHeadStore(this.d, this.bits, this.group, this.residual);
    Object.assign(c, { coded: this.coded, groups: this.groups, resLen: this.resLen });
    c.keyCodes = this.keyCodes.slice();
    c.valueCodes = this.valueCodes.slice();
    c.groupLen = this.groupLen.slice();
    c.keyScaleMin = this.keyScaleMin.slice();
    c.valueScaleMin = this.valueScaleMin.slice();
    c.resKeys = this.resKeys.slice();
    c.resValues = this.resValues.slice();
    return c;
  }

  /** Moves the oldest G residual rows into codes: one new key group, G value rows. */
  private codeOldestResidual(): void {
    const { d, group: G, rowBytes: rb, valueGroups: vg } = this;
    const at = this.coded;
    const n = at + G;
    this.keyCodes = grown(this.keyCodes, n * rb);
    this.valueCodes = grown(this.valueCodes, n * rb);
    this.valueScaleMin = grown(this.valueScaleMin, n * vg * 2);
    this.groupLen = grown(this.groupLen, this.groups + 1);
    this.keyScaleMin = grown(this.keyScaleMin, (this.groups + 1) * d * 2);
    this.coded = n;
    this.groupLen[this.groups] = G;
    this.groups++;
    this.encodeKeyGroup(this.resKeys, at, G, this.groups - 1);
    for (let t = 0; t < G; t++) this.encodeValueRow(this.resValues, t * d, at + t);
    this.resKeys.copyWithin(0, G * d, this.resLen * d);
    this.resValues.copyWithin(0, G * d, this.resLen * d);
    this.resLen -= G;
  }

  /** Decodes coded token t (a member of key group g) into dst [headDim] at off. */
  private decodeKeyRow(g: number, t: number, dst: Float32Array, off: number): void {
    const { d, bits, rowBytes: rb } = this;
    const row = t * rb * (8 / bits); // element index of the row's first code
    for (let c = 0; c < d; c++) {
      const sm = (g * d + c) * 2;
      dst[off + c] = this.keyScaleMin[sm + 1]! + this.keyScaleMin[sm]! * kiviGetCode(this.keyCodes, row + c, bits);
    }
  }

  /** Codes key group g = coded tokens [start, start+len) from rows [len][headDim] f32, per channel. */
  private encodeKeyGroup(rows: Float32Array, start: number, len: number, g: number): void {
    const { d, bits, rowBytes: rb } = this;
    for (let c = 0; c < d; c++) {
      const [lo, hi] = groupRange(rows, c, len, d);
      const scale = Math.fround(kiviScale(lo, hi, bits));
      const min = Math.fround(lo);
      this.keyScaleMin[(g * d + c) * 2] = scale;
      this.keyScaleMin[(g * d + c) * 2 + 1] = min;
      for (let i = 0; i < len; i++) kiviPutCode(this.keyCodes, (start + i) * rb * (8 / bits) + c, bits, kiviCode(rows[i * d + c]!, scale, min, bits));
    }
  }

  /** Codes value row x [headDim] (from xOff) as coded slot t: per group of G channels. */
  private encodeValueRow(x: Float32Array, xOff: number, t: number): void {
    const { d, bits, group: G, rowBytes: rb, valueGroups: vg } = this;
    const row = t * rb * (8 / bits); // element index of the row's first code
    for (let g = 0; g < vg; g++) {
      const c0 = g * G;
      const c1 = Math.min(d, c0 + G);
      const [lo, hi] = groupRange(x, xOff + c0, c1 - c0);
      const scale = Math.fround(kiviScale(lo, hi, bits));
      const min = Math.fround(lo);
      this.valueScaleMin[(t * vg + g) * 2] = scale;
      this.valueScaleMin[(t * vg + g) * 2 + 1] = min;
      for (let c = c0; c < c1; c++) kiviPutCode(this.valueCodes, row + c, bits, kiviCode(x[xOff + c]!, scale, min, bits));
    }
  }
}
