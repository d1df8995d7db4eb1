/**
 * The contract between a model runtime and the cache manager. The runtime drives it layer by
 * layer; the session owns the KV cache of one sequence across all layers, runs attention
 * through its ComputeBackend, and compresses at the moments its Schedule names.
 *
 * Prefill:  for each layer: append(layer, k, v, meta); out = attend(layer, q, ...)
 *           then endPrefill()      → per-layer budgets, policy plans, physical compaction
 * Decode:   for each layer: append(...1 token...); out = attend(...)
 *           then endStep()         → schedule decides; policy may compress again
 */
import type { AttentionBackendStats } from './session-stats.js';
import type { BackendName, ComputeBackend, KVDType } from '../attention/backend.js';
import type { StatNeeds } from '../attention/stats.js';
import type { BudgetSpec } from './budget.js';
import type { KVStorage } from './storage-spec.js';
import type { TierOptions } from './tier-spec.js';
import type { Schedule } from './schedule.js';
import type { TokenMeta } from './token-meta.js';
import type { PolicyInstance } from './policy-api.js';

export interface CacheSessionOptions {
  numLayers: number;
  qHeads: number;
  kvHeads: number;
  headDim: number;
  /** Dense K/V element type (default f32); shorthand for `storage` with a float kind. */
  dtype?: KVDType;
  /**
   * K/V storage type: 'f32' | 'f16' | 'bf16' | 'int8-fp8' | 'int4' | 'int2', or
   * { kind, group?, residual? } (G, R; docs/kv-storage.md). Give dtype or storage, not both.
   */
  storage?: KVStorage;
  /** Initial slots per head stripe (grows by doubling when exceeded); default 256. */
  initialCapacity?: number;
  /**
   * DRAM–flash tier (dense storage only): each head's oldest slots — a fraction of them, or all
   * but the newest `window` — live in a memory-mapped scratch file in `dir` (default the OS temp
   * directory), unlinked at creation; docs/kv-storage.md.
   */
  tier?: TierOptions;
  backend: ComputeBackend;
  /** Absent / null = full cache (no compression). */
  policy?: PolicyInstance | null;
  budget?: BudgetSpec;
  schedule?: Schedule;
  /** Whether the question is inside the compressed prefix (default true). */
  queryAware?: boolean;
  seed?: number;
  /** Softmax scale (default 1/sqrt(headDim)). */
  scale?: number;
  /**
   * Statistics to gather on every attend besides the policy's own: a shared prefill gathers
   * the union of what the sessions forked from it need (see CacheSession.fork).
   */
  gather?: StatNeeds;
}

/** What a fork of a prefill may set: everything a trial adds on top of a shared prefill. */
export type SessionForkOptions = Partial<Pick<CacheSessionOptions, 'policy' | 'budget' | 'schedule' | 'queryAware' | 'seed' | 'backend' | 'gather'>>;

export interface CacheBytes {
  /** Logical tokens represented (Σ slot weights over layers and heads / (layers·kvHeads)). */
  logicalTokens: number;
  /** Slots held, summed over layers and KV heads. */
  slots: number;
  /** Exact bytes of K and V held for valid slots: codes + scales + dense rows (StorageSpec.bytes). */
  kvBytes: number;
  /** The part of kvBytes in memory (all of it without a tier). */
  kvDramBytes: number;
  /** The part of kvBytes on the DRAM–flash tier's file. */
  kvFileBytes: number;
  /** Bytes of K/V buffers allocated (capacity, including free room). */
  kvAllocatedBytes: number;
  /** Per-slot metadata (TokenMeta fields + accumulated scores) of valid slots. */
  metaBytes: number;
  /** Metadata buffer bytes allocated (capacity, including free room). */
  metaAllocatedBytes?: number;
  retentionBytes: number;
  /** kvBytes + metaBytes + retentionBytes. */
  totalBytes: number;
}

export interface CacheSessionApi {
  readonly options: Readonly<CacheSessionOptions>;
  readonly backendName: BackendName;
  /**
   * Append n tokens to a layer: k, v [n][kvHeads][headDim] f32 token-major (RoPE applied to
   * k), meta of length n. Every KV head receives all n tokens.
   */
  append(layer: number, k: Float32Array, v: Float32Array, meta: TokenMeta): void;
  /**
   * Attention of n query tokens q [n][qHeads][headDim] (RoPE applied) at qPositions over the
   * layer's cache (including tokens just appended), with the statistics the policy needs;
   * adds any retention readout. Returns [n][qHeads][headDim].
   */
  attend(layer: number, q: Float32Array, qPositions: Int32Array, qModality: Uint8Array, out?: Float32Array): Float32Array;
  /** Marks the end of the prompt: compresses every layer per policy, budget and schedule. */
  endPrefill(): void;
  /**
   * During a chunked (streaming) prefill: compress every layer over budget now, the budget
   * resolved against the whole prompt's `streamLength` tokens; the prefill goes on.
   */
  holdAtBudget(streamLength: number): void;
  /** Marks the end of one decode step (all layers attended). */
  endStep(): void;
  bytes(): CacheBytes;
  /** Timings accumulated so far (ms) of attention and compression. */
  timings(): AttentionBackendStats;
}
