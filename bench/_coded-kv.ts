/**
 * Coded K/V (int8-fp8, KIVI int4 / int2) for the kernel bench, laid out exactly as the cache's
 * heads lay them (CodedHeadArrays, docs/kv-storage.md), filled with random codes and scales
 * that decode to [-1, 1] like the bench's f32 rows (so softmax is as flat and P·V skips as few
 * slots). Encoding 32k real tokens in TypeScript would take longer than the timing itself; the
 * kernels' speed does not depend on the values. Bytes are the cache's exact accounting
 * (StorageSpec.bytes): codes + scales + f32 residual.
 */
import type { CodedHeadArrays } from '../src/attention/backend.js';
import type { NativeAddon } from '../src/attention/native/addon.js';
import type { RawKVLayout } from '../src/attention/native/coded-layout.js';
import { channelGroups, codeRowBytes, storageSpec, type StorageKind } from '../src/cache/storage-spec.js';
import { mulberry32 } from '../src/util/random.js';

export type CodedKind = Extract<StorageKind, 'int8-fp8' | 'int4' | 'int2'>;
/** KIVI's residual window in the bench's caches. */
export const R = 128;

/** One aligned allocation from the addon (as allocCacheKV gives dense K/V) cut into kvHeads
 *  equal stripes of `count` elements each. */
function stripes<T extends Uint8Array | Float32Array>(addon: NativeAddon, make: (b: ArrayBuffer, off: number, n: number) => T, bytesPer: number, kvHeads: number, count: number): T[] {
  const buffer = addon.allocKV(Math.max(64, kvHeads * count * bytesPer));
  return Array.from({ length: kvHeads }, (_, h) => make(buffer, h * count * bytesPer, count));
}

/** A layer of `len` tokens per KV head in `kind` storage with group size G; bytes = K+V bytes the
 *  kernels read. */
export function codedLayer(addon: NativeAddon, kind: CodedKind, G: number, len: number, kvHeads: number, headDim: number, seed: number): { kv: RawKVLayout; bytes: number } {
  const rand = mulberry32(seed);
  const spec = storageSpec(kind === 'int8-fp8' ? { kind, group: G } : { kind, group: G, residual: R }, headDim);
  const d = headDim;
  const ng = channelGroups(d, G);
  const kivi = kind !== 'int8-fp8';
  const coded = kivi ? Math.floor(Math.max(0, len - R) / G) * G : len;
  const groups = kivi ? coded / G : 0;
  const rowBytes = kivi ? codeRowBytes(d, spec.bits) : d;
  const step = kivi ? 2 / ((1 << spec.bits) - 1) : 2 / 255;
  const fillCodes = (a: Uint8Array) => {
    for (let i = 0; i < a.length; i++) a[i] = (rand() * 256) | 0;
  };
  const u8 = (b: ArrayBuffer, off: number, n: number) => new Uint8Array(b, off, n);
  const f32 = (b: ArrayBuffer, off: number, n: number) => new Float32Array(b, off, n);
  const keyCodes = stripes(addon, u8, 1, kvHeads, coded * rowBytes);
  const valueCodes = stripes(addon, u8, 1, kvHeads, coded * rowBytes);
  const keyScaleMin = stripes(addon, f32, 4, kvHeads, 2 * (kivi ? groups * d : coded * ng));
  const valueScale = stripes(addon, f32, 4, kvHeads, coded * ng * (kivi ? 2 : 1));
  const heads: CodedHeadArrays[] = [];
  for (let h = 0; h < kvHeads; h++) {
    fillCodes(keyCodes[h]!);
    fillCodes(valueCodes[h]!);
    // e4m3 has no codes 0x7F / 0xFF (NaN) from the encoder.
    if (!kivi) valueCodes[h]!.forEach((b, i, a) => (a[i] = (b & 0x7f) === 0x7f ? b ^ 1 : b));
    // (scale, min) pairs decoding codes to [-1, 1]; fp8 values: scale 1/448 (e4m3's largest is 448).
    const ksm = keyScaleMin[h]!;
    for (let i = 0; i + 1 < ksm.length; i += 2) [ksm[i], ksm[i + 1]] = [step, -1];
    const vs = valueScale[h]!;
    if (kivi) for (let i = 0; i + 1 < vs.length; i += 2) [vs[i], vs[i + 1]] = [step, -1];
    else vs.fill(1 / 448);
    const head: CodedHeadArrays = { keyCodes: keyCodes[h]!, valueCodes: valueCodes[h]!, keyScaleMin: ksm, valueScale: vs };
    if (kivi) {
      const residual = (len - coded) * d;
      Object.assign(head, {
        coded,
        keyGroups: groups,
        groupLen: new Int32Array(groups).fill(G),
        residualKeys: Float32Array.from({ length: residual }, () => rand() * 2 - 1),
        residualValues: Float32Array.from({ length: residual }, () => rand() * 2 - 1),
      });
    }
    heads.push(head);
  }
  const positions = new Int32Array(kvHeads * len);
  for (let h = 0; h < kvHeads; h++) for (let j = 0; j < len; j++) positions[h * len + j] = j;
  const kv: RawKVLayout = {
    kvHeads,
    headDim: d,
    capacity: len,
    dtype: 'f32',
    keys: new Float32Array(0),
    values: new Float32Array(0),
    lengths: new Int32Array(kvHeads).fill(len),
    positions,
    modality: new Uint8Array(kvHeads * len),
    coded: { storage: kind, group: G, heads },
  };
  const bytes = kvHeads * spec.bytes({ coded, keyGroups: groups, dense: len - coded });
  return { kv, bytes };
}
