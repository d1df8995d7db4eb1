/**
 * The compute-backend seam: the TypeScript reference (`ts`), the native CPU kernels (`cpu`)
 * and CUDA (`cuda`) all implement this interface with identical semantics; the reference is
 * the oracle every other backend is tested against.
 *
 * Layouts are explicit and named in every doc comment:
 * - KV storage is head-major `[kvHeads][capacity][headDim]`; KV head h has `lengths[h]` valid
 *   slots at the front of its stripe (heads may hold different numbers of slots).
 * - Queries and outputs are token-major `[n][qHeads][headDim]` (what projections produce).
 * - Query head qh reads KV head floor(qh / (qHeads / kvHeads)) (GQA).
 */
import type { AttentionStats, StatNeeds } from './stats.js';
import type { PrunedKeyLayout } from './pruned-keys.js';

export type BackendName = 'ts' | 'cpu' | 'cuda';

/** Storage element types of K/V. 16-bit types are stored as raw bits in a Uint16Array. */
export type KVDType = 'f32' | 'f16' | 'bf16';

export type KVBuffer = Float32Array | Uint16Array;

/**
 * One KV head's codes as they lie in the cache (docs/kv-storage.md has the layouts; ng =
 * ⌈headDim/G⌉ channel groups, rowBytes = ⌈headDim·bits/8⌉). Arrays may be longer than the
 * slots need (they grow by doubling); slots are oldest first.
 */
export interface CodedHeadArrays {
  /** int8-fp8: [len][headDim] u8; KIVI: [coded][rowBytes] packed, little-endian within a byte. */
  keyCodes: Uint8Array;
  /** int8-fp8: [len][headDim] e4m3; KIVI: [coded][rowBytes] packed. */
  valueCodes: Uint8Array;
  /** int8-fp8: [len][ng][2] (scale, min); KIVI: [keyGroups][headDim][2] (scale, min). */
  keyScaleMin: Float32Array;
  /** int8-fp8: [len][ng] scale; KIVI: [coded][ng][2] (scale, min). */
  valueScale: Float32Array;
  /** KIVI: slots held as codes (the rest, coded..len−1, are the f32 residual). */
  coded?: number;
  /** KIVI: key groups and [keyGroups] slots in each (1..G, summing to coded). */
  keyGroups?: number;
  groupLen?: Int32Array;
  /** KIVI: [len − coded][headDim] f32. */
  residualKeys?: Float32Array;
  residualValues?: Float32Array;
}

/**
 * A layer's K/V held as codes (int8-fp8, KIVI int4/int2; src/cache/storage-spec.ts). A kernel
 * that reads it decodes one KV head at a time inside its loads; slots and order are those of
 * lengths / positions.
 */
export interface CodedKV {
  /** The storage kind ('int8-fp8' | 'int4' | 'int2' for the cache's stores). */
  readonly storage: string;
  /** G: channels per scale group (and tokens per KIVI key group). */
  readonly group?: number;
  /** Decodes head h's lengths[h] slots into dst [lengths[h]][headDim] f32 (from offset 0). */
  decodeHead(which: 'keys' | 'values', h: number, dst: Float32Array): void;
  /** Head h's code arrays, for kernels that read codes natively (the native CPU backend). */
  headArrays?(h: number): CodedHeadArrays;
}

/**
 * A layer split by the DRAM–flash tier (src/cache/tiered-kv.ts). Head h's rows, in storage
 * order: rows 0..coldLengths[h]−1 are rows 0.. of its stripe in coldKeys / coldValues (a
 * memory-mapped scratch file), the rest are rows hotStart[h].. of its stripe in KVLayout.keys /
 * values, which then hold [kvHeads][hotCapacity][headDim]. Without rowSlots row r holds slot r
 * (the cold slots are the oldest: tier by age); with it (by score) row r holds slot
 * rowSlots[h·capacity + r]. Dense dtypes only.
 */
export interface TierLayout {
  /** [kvHeads][coldCapacity][headDim] of KVLayout.dtype, in the tier file. */
  coldKeys: KVBuffer;
  coldValues: KVBuffer;
  coldCapacity: number;
  /** [kvHeads] cold slots per head. */
  coldLengths: Int32Array;
  /** Rows per head stripe of KVLayout.keys / values. */
  hotCapacity: number;
  /** [kvHeads] row of each head's first hot slot in its stripe. */
  hotStart: Int32Array;
  /** [kvHeads][KVLayout.capacity] slot held by each row (tier by score); absent: row r holds slot r. */
  rowSlots?: Int32Array;
}

/** Raw view of one layer's cache as the kernels see it. */
export interface KVLayout {
  kvHeads: number;
  headDim: number;
  /** Slots per head stripe; head h's slot s starts at ((h * capacity) + s) * headDim. */
  capacity: number;
  dtype: KVDType;
  /**
   * [kvHeads][capacity][headDim]; empty when `coded` holds the K/V. With `prunedKeys` each
   * head's stripe starts with its packed (pruned) rows, then whole rows (pruned-keys.ts).
   */
  keys: KVBuffer;
  /** [kvHeads][capacity][headDim]; empty when `coded` holds the K/V. */
  values: KVBuffer;
  /** Quantized K/V (then dtype is 'f32' and keys / values are empty); only for backends with readsCoded. */
  coded?: CodedKV;
  /** DRAM–flash tier: keys / values hold the hot rows only (TierLayout). */
  tier?: TierLayout;
  /** [kvHeads] valid slots per head. */
  lengths: Int32Array;
  /** [kvHeads][capacity] original position of each slot (the causal mask compares these). */
  positions: Int32Array;
  /** [kvHeads][capacity] ModalityCode of each slot (used by `flows`). */
  modality: Uint8Array;
  /** Keys pruned along headDim (ThinK; dense dtypes only): the key rows' layout, pruned-keys.ts. */
  prunedKeys?: PrunedKeyLayout;
}

export interface AttendArgs {
  /** [n][qHeads][headDim] f32, RoPE already applied. */
  q: Float32Array;
  n: number;
  qHeads: number;
  /** [n] position of each query token: slot j is visible iff positions[j] <= qPositions[i]. */
  qPositions: Int32Array;
  /** [n] ModalityCode of each query token; required by `textColumn` and `flows`. */
  qModality?: Uint8Array;
  kv: KVLayout;
  /** Softmax scale, usually 1/sqrt(headDim). */
  scale: number;
  needs: StatNeeds;
  /** Optional preallocated output [n][qHeads][headDim]; allocated when absent. */
  out?: Float32Array;
  /**
   * Statistics returned by an earlier call that the caller no longer needs: a backend may
   * overwrite their arrays instead of allocating new ones (the native backend does when the
   * shapes still match; the TS reference ignores it). They are invalid after this call.
   */
  reuse?: AttentionStats;
}

export interface AttendResult {
  /** [n][qHeads][headDim] f32. A query row that sees no slot yields zeros. */
  out: Float32Array;
  stats: AttentionStats;
}

/** Weights of a linear layer in HF layout: `[outFeatures][inFeatures]`, row-major. */
export interface LinearWeight {
  dtype: KVDType;
  data: KVBuffer;
  outFeatures: number;
  inFeatures: number;
}

export interface ComputeBackend {
  readonly name: BackendName;
  /**
   * Whether attend() reads KVLayout.coded (quantized storage) itself. When false or absent the
   * cache hands it a decoded f32 copy of the layer instead.
   */
  readonly readsCoded?: boolean;
  /** Attention of n query tokens over the cache, plus the statistics `needs` names. */
  attend(args: AttendArgs): AttendResult;
  /** y[m][out] = x[m][in] · Wᵀ (+ bias[out]). */
  linear(x: Float32Array, m: number, w: LinearWeight, bias?: Float32Array, out?: Float32Array): Float32Array;
  /** out[r][:] = x[r][:] / rms(x[r]) * weight; rows × dim. */
  rmsNorm(x: Float32Array, rows: number, dim: number, weight: Float32Array, eps: number, out?: Float32Array): Float32Array;
  /**
   * Rotate-half RoPE in place on x [n][heads][headDim] with per-token tables
   * cos/sin [n][rotaryDim/2]; the first rotaryDim dims of each head rotate.
   */
  rope(x: Float32Array, n: number, heads: number, headDim: number, rotaryDim: number, cos: Float32Array, sin: Float32Array): void;
  /** out[i] = silu(gate[i]) * up[i]. */
  siluMul(gate: Float32Array, up: Float32Array, out?: Float32Array): Float32Array;
}
