/**
 * The policy API. A policy looks at a read-only view of one layer and returns a Plan; the
 * cache applies the plan physically. Policies never mutate the cache themselves, so each is
 * testable on hand-built views without a model.
 */
import type { AttentionStats, StatNeeds } from '../attention/stats.js';
import type { KeyRerotation } from './key-rerotation.js';
import type { TokenMeta } from './token-meta.js';

/** Read-only view of one layer of the cache. */
export interface LayerView {
  readonly layer: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** Query heads per KV head (GQA ratio). */
  readonly groupSize: number;
  /** Valid slots of KV head h. */
  length(h: number): number;
  /**
   * [len][headDim] f32 keys of KV head h (decoded when stored in 16 bits; a slot whose key was
   * pruned by ThinK reads 0 on the dropped channels, so q·k is the score attention uses). Do not mutate.
   */
  keys(h: number): Float32Array;
  /** [len][headDim] f32 values of KV head h. Do not mutate. */
  values(h: number): Float32Array;
  /** Metadata of the len slots of KV head h (views; do not mutate). */
  meta(h: number): TokenMeta;
  /**
   * Per-slot running scores kept by the cache across calls (compacted with the slots):
   * `cumulative` accumulates H2O column sums over prefill and every decode step so far.
   */
  accumulated(h: number): { cumulative?: Float32Array };
  /** Kept key channels of KV head h when its keys were pruned (ThinK), else undefined. */
  keyChannels?(h: number): Int32Array | undefined;
  /** How many of KV head h's slots are on the DRAM–flash tier's file (0 or absent: none): by age slots 0..coldSlots(h)−1; by score its lowest-scored (LayerCache.isColdSlot). */
  coldSlots?(h: number): number;
}

export type Phase = 'prefill' | 'decode';

export interface PolicyContext {
  view: LayerView;
  /** Statistics of the most recent attention call on this layer (what `needs` asked for). */
  stats: AttentionStats;
  phase: Phase;
  layer: number;
  numLayers: number;
  /** Decode step (0 during prefill). */
  step: number;
  /** Tokens in the prompt (the compressed prefix's original length). */
  promptLength: number;
  /**
   * Slots each KV head may keep after this plan (from the layer allocator). A policy with its
   * own per-head allocation (AdaKV) may redistribute, keeping the layer total.
   */
  budget: number;
  /** Whether the question is inside the compressed prefix (true) or arrives after it. */
  queryAware: boolean;
  /** Seeded uniform [0,1) generator, deterministic per (seed, layer, step). */
  random: () => number;
}

/**
 * Fold slots into a surviving slot. All merges of a plan read the cache *before* the plan
 * (they commute). With `normalize` (default) the result is a weighted mean:
 *   x[into] = (selfCoef·x[into] + Σ coef[i]·x[from[i]]) / (selfCoef + Σ coef[i])
 * where the coefficients default to the slots' `weight` (token counts); the surviving slot's
 * weight becomes the sum of the weights. Without `normalize` the sum is taken as is and
 * weights are unchanged (CaM adds scaled values to later slots); there coef and selfCoef
 * default to 1.
 *
 * Several ops with the same `into` combine into one weighted mean (the target counted once;
 * they must agree on normalize and selfCoef). A slot may be the source of at most one
 * normalised merge, so no token's weight is counted twice; additive merges may reuse a
 * source. A merged target keeps its own accumulated score.
 */
export interface MergeOp {
  into: number;
  from: ArrayLike<number>;
  coef?: ArrayLike<number>;
  selfCoef?: number;
  normalize?: boolean;
  /** Which tensors merge: keys and values (default) or values only. */
  target?: 'kv' | 'v';
}

export interface HeadPlan {
  /** Slot indices that survive, strictly ascending. */
  keep: Int32Array;
  merges?: MergeOp[];
  /** Slots (not kept) handed to the layer's retention store before they leave. */
  retain?: Int32Array;
  /** Per retained slot absorption strength (default 1), aligned with `retain`. */
  retainStrength?: Float32Array;
  /**
   * Per retained slot state transition in (0, 1], aligned with `retain`: the store multiplies
   * its state by it just before writing that slot (RetentiveKV's per-token decay), so the
   * slots are written in `retain` order.
   */
  retainDecay?: Float32Array;
  /**
   * Share in [0, 1] of the head's attention mass (as the policy measured it) that the
   * retained slots held: a store that reads back by mass weighs its readout with it.
   */
  retainShare?: number;
}

/**
 * Prune key channels (ThinK): after the slot plan, the keys of each KV head's oldest slots keep
 * only channels[h] (strictly ascending in [0, headDim), the same count for every head); the
 * last `recent` slots of each head, and every key appended later, stay headDim wide. Values
 * are untouched. Once per layer, dense storage only (src/attention/pruned-keys.ts).
 */
export interface KeyChannelPlan {
  /** [kvHeads] kept channel indices of each KV head. */
  channels: Int32Array[];
  /** Newest slots of each head whose keys stay whole (≥ 0). */
  recent: number;
}

/** One HeadPlan per KV head of the layer. `null` means: leave the layer as it is. */
export type Plan = { heads: HeadPlan[]; keyChannels?: KeyChannelPlan } | null;

/** A policy bound to one session (it may keep state across layers and steps, e.g. FastV). */
export interface PolicyInstance {
  readonly name: string;
  readonly needs: StatNeeds;
  plan(ctx: PolicyContext): Plan;
  /**
   * Optional layer allocator: given each layer's statistics after prefill, returns the
   * budget (slots per head) of every layer, summing to about `total` = base × numLayers.
   */
  allocateLayers?(args: LayerAllocationArgs): number[];
  /** Optional decode-time hook: a readout added to the attention output (RetentiveKV). */
  retention?: RetentionStore;
  /**
   * Optional: after the prefill's compression the session re-rotates every kept key to RoPE
   * position = its rank in its head (0..k−1) and later tokens continue at k, the longest head
   * (key-rerotation.ts; the policy `key-rerotation` wraps any policy with it).
   */
  rerotateKeys?: KeyRerotation;
  /**
   * Optional: a second model pass over the prompt before its prefill ends (KVzip's context
   * reconstruction). A runtime with a model runs it (src/model/second-pass.ts); the policy
   * gathers what it needs from each layer in `observe` and plans from that at endPrefill.
   */
  secondPass?: SecondPass;
  /** Deep copy for CacheSession.clone() (needed when the policy keeps state across steps). */
  clone?(): PolicyInstance;
}

/**
 * A repeat pass: the prompt's context, chunk by chunk, fed again after an instruction over the
 * uncompressed cache (teacher-forced), so a policy can watch the model reconstruct it.
 * Chunk i repeats context tokens [start, end) (end − start ≤ chunk): instruction tokens, from
 * the second chunk on `continuation` followed by the previous chunk's last `overlap` tokens,
 * then the chunk's tokens themselves.
 */
export interface SecondPass {
  /** Asked before the first chunk (tokenized by the runtime, no special tokens). */
  instruction: string;
  /** Asked before every later chunk, followed by the previous chunk's last `overlap` tokens. */
  continuation: string;
  /** Context tokens per chunk (≥ 1). */
  chunk: number;
  /** Tokens of the previous chunk repeated after `continuation` (≥ 0). */
  overlap: number;
  /** Called for every layer after each chunk's repeat. */
  observe(o: RepeatObservation): void;
}

/** One layer's cache and the repeat's queries after a chunk of the repeat pass. */
export interface RepeatObservation {
  layer: number;
  /** The layer: the context's `contextLength` slots (uncompressed, slot = position), then the repeat's n slots. */
  view: LayerView;
  /** The repeat's queries [n][qHeads][headDim] f32 (RoPE applied). */
  queries: Float32Array;
  n: number;
  qHeads: number;
  contextLength: number;
  /** The context range [start, end) this chunk repeats. */
  start: number;
  end: number;
  /** Attention logit scale (1/√headDim unless the session sets it). */
  scale: number;
}

export interface LayerAllocationArgs {
  base: number;
  numLayers: number;
  /** Tokens prefilled so far (the slots `stats` and `meta` describe). */
  promptLength: number;
  /**
   * A streamed prefill (CacheSession.holdAtBudget) allocates before the whole prompt is in:
   * the prompt's full length, which `base` was resolved against. Absent for a one-pass prefill,
   * where it equals promptLength.
   */
  streamLength?: number;
  /** Per layer, the statistics of that layer's prefill attention. */
  stats: AttentionStats[];
  /**
   * Optional: metadata of the prompt's slots (slot-aligned with `stats` after prefill), so an
   * allocator can split statistics by modality (MEDA's cross-modal entropy).
   */
  meta?: TokenMeta;
}

/**
 * Where evicted tokens can live on (RetentiveKV's state-space memory). Sits behind the cache
 * interface: the cache hands it slots, counts its bytes, and the attention path asks it for
 * a readout to add to the attention output.
 */
export interface RetentionStore {
  /**
   * Absorb retained slots of (layer, kvHead) in order: keys/values [count][headDim] f32;
   * `share` is the plan's retainShare (the attention mass they held) and `decay` [count] its
   * retainDecay, when the policy gave them.
   */
  absorb(layer: number, kvHead: number, keys: Float32Array, values: Float32Array, meta: TokenMeta, strength: Float32Array, share?: number, decay?: Float32Array): void;
  /**
   * Add the store's readout for queries q [n][qHeads][headDim] to out (same layout), given
   * the attention statistics (row entropy) of the local attention just computed.
   */
  readout(layer: number, q: Float32Array, n: number, qHeads: number, kvHeads: number, headDim: number, stats: AttentionStats, out: Float32Array): void;
  /**
   * Optional: what `readout` records from an attend's statistics while the store is still
   * empty (so the readout adds nothing), without the queries. A session forked from a shared
   * prefill replays each layer's last prefill attend through it, exactly as if the store had
   * watched that prefill; a store without it keeps its trial on its own prefill.
   */
  observe?(layer: number, stats: AttentionStats): void;
  /** Exact bytes of the state held now. */
  bytes(): number;
  /** Deep copy, so a cloned session's state evolves independently. */
  clone?(): RetentionStore;
}
