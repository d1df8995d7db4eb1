/**
 * The K/V layout the addon's attention takes. Dense layouts pass through; a quantized layer
 * (KVLayout.coded) goes to the CPU kernels as its code arrays, which they dequantise inside
 * their loads (no f32 copy). Storage the kernels do not read — another kind, a CodedKV without
 * headArrays, or CUDA, whose kernels read dense K/V only — becomes a decoded f32 copy of the
 * layer instead (the correctness path: more bytes than an f32 cache). Keys pruned along
 * headDim (ThinK) go to the CPU kernels as they are; CUDA, which reads whole key rows only,
 * gets a whole-row copy of the keys with the dropped channels zero (the same scores).
 */
import type { CodedHeadArrays, KVLayout } from '../backend.js';
import { widenPrunedKeys } from '../pruned-keys.js';
import { untieredLayout } from '../tier-layout.js';

/** Storage kinds the native CPU kernels read as codes (kvprism.h KVP_INT8_FP8 / INT4 / INT2). */
export const NATIVE_CODED_KINDS: readonly string[] = ['int8-fp8', 'int4', 'int2'];

/** args.kv.coded as the addon reads it (native/src/napi/napi_coded.cpp). */
export interface RawCodedKV {
  storage: string;
  /** G: channels per scale group, tokens per KIVI key group. */
  group: number;
  /** [kvHeads] */
  heads: CodedHeadArrays[];
}

export type RawKVLayout = Omit<KVLayout, 'coded'> & { coded?: RawCodedKV };

/** The layout to hand the addon; `readsCodes`: the kernels that will run read codes (CPU). */
export function kernelLayout(kv: KVLayout, readsCodes: boolean): RawKVLayout {
  // The CPU kernels read a DRAM–flash tier in place; CUDA reads DRAM K/V only.
  if (kv.tier && !readsCodes) {
    const { coded: _none, ...dense } = untieredLayout(kv); // a tier holds dense K/V only
    return dense;
  }
  const { coded, ...dense } = kv;
  if (!coded && kv.prunedKeys && !readsCodes) return widenedLayout(kv);
  if (!coded) return dense;
  const { group, headArrays } = coded;
  if (readsCodes && NATIVE_CODED_KINDS.includes(coded.storage) && headArrays && group !== undefined) {
    const heads = Array.from({ length: kv.kvHeads }, (_, h) => headArrays(h));
    return { ...dense, coded: { storage: coded.storage, group, heads } };
  }
  return decodedLayout(kv);
}

/** The layout with whole key rows (pruned-keys.ts widenPrunedKeys) for CUDA, which reads no packed rows. */
function widenedLayout(kv: KVLayout): RawKVLayout {
  const { prunedKeys, coded: _none, ...rest } = kv;
  return { ...rest, keys: widenPrunedKeys(prunedKeys!, kv.keys, kv.kvHeads, kv.capacity, kv.headDim, kv.lengths) };
}

/** A dense f32 copy [kvHeads][capacity][headDim] of a coded layer. */
function decodedLayout(kv: KVLayout): RawKVLayout {
  const { coded, ...rest } = kv;
  const stripe = kv.capacity * kv.headDim;
  const keys = new Float32Array(kv.kvHeads * stripe);
  const values = new Float32Array(kv.kvHeads * stripe);
  for (let h = 0; h < kv.kvHeads; h++) {
    coded!.decodeHead('keys', h, keys.subarray(h * stripe));
    coded!.decodeHead('values', h, values.subarray(h * stripe));
  }
  return { ...rest, dtype: 'f32', keys, values };
}
