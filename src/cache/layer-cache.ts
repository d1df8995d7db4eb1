/**
 * The physical KV cache of one layer. Keys and values live in a KVStore: dense head-major
 * `[kvHeads][capacity][headDim]` stripes in f32, f16 or bf16 (DenseKV), the same split between
 * DRAM and a tier file (TieredKV), or codes per KV head (QuantizedKV: int8-fp8, KIVI
 * int4/int2; storage-spec.ts); KV head h holds `length(h)` valid
 * slots. Per-slot metadata (TokenMeta fields) and the accumulated H2O scores are stored
 * `[kvHeads][capacity]` and move with their slots.
 *
 * A plan may also prune key channels (ThinK, KeyChannelPlan): the oldest key rows of each head
 * are then stored with only the kept channels (dense storage; src/attention/pruned-keys.ts),
 * and views read them back with zeros on the dropped channels.
 *
 * Verbs: append, layout (for kernels), view (for policies), apply(plan) (merge → retain →
 * physical compaction → key-channel pruning), shrinkToFit, bytes. Removing slots really moves
 * memory: masking is not compression.
 */
import type { KVDType, KVLayout } from '../attention/backend.js';
import type { Plan, RetentionStore } from './policy-api.js';
import { DenseKV } from './dense-kv.js';
import type { KVStore } from './kv-store.js';
import { QuantizedKV } from './quantized-kv.js';
import { TieredKV } from './tiered-kv.js';
import { ScoreTieredKV } from './score-tiered-kv.js';
import type { TierFile } from './tier-file.js';
import type { TierSpec } from './tier-spec.js';
import { storageSpec, type KVStorage, type StorageSpec } from './storage-spec.js';
import { LayerCacheView, type LayerViewSource } from './layer-view.js';
import { computeMerges, type MergedSlots } from './merge-ops.js';
import { validatePlan } from './plan-validate.js';
import { rotateKeyRow } from './key-rerotation.js';
import { resolveKeyPrune } from './key-prune.js';
import type { PrunedKeyLayout } from '../attention/pruned-keys.js';
import { allocTokenMeta, sliceTokenMeta, TOKEN_META_FIELDS, validateTokenMeta, type TokenMeta } from './token-meta.js';
import { checkAppendable, checkAppendMeta, checkStorable, copyMetaSlot, gatherSlots, metaBytesPerSlot, validateLayerOptions } from './layer-cache-util.js';

export interface LayerCacheOptions {
  /** Layer index (used in views and error messages). */
  layer: number;
  kvHeads: number;
  headDim: number;
  /** Query heads per KV head, reported by views (default 1). */
  groupSize?: number;
  /** Dense float storage (default f32); shorthand for storage: dtype. */
  dtype?: KVDType;
  /** K/V storage type: a float kind, int8-fp8, int4 or int2 (with G, R). Give dtype or storage, not both. */
  storage?: KVStorage | StorageSpec;
  /** Initial slots per head stripe (default 256); grows by doubling. */
  initialCapacity?: number;
  /** DRAM–flash tier: the oldest slots of each head live in this (session's) file (dense storage only). */
  tier?: { spec: TierSpec; file: TierFile };
}

/** Exact byte accounting of one layer, measured from its buffers. */
export interface LayerBytes {
  slots: number;
  /** Σ slot weights (original tokens represented). */
  weightSum: number;
  /** K and V bytes of valid slots. */
  kvBytes: number;
  /** The part of kvBytes held on file by the DRAM–flash tier (the rest is in DRAM). */
  kvFileBytes: number;
  /** K and V buffer bytes allocated (capacity). */
  kvAllocatedBytes: number;
  /** Metadata (+ accumulated scores) bytes of valid slots. */
  metaBytes: number;
  metaAllocatedBytes: number;
}

export class LayerCache implements LayerViewSource {
  readonly layer: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly groupSize: number;
  /** The frozen storage type; exact K/V bytes come from it. */
  readonly storage: StorageSpec;
  private cap: number;
  private store: KVStore;
  private readonly lengths: Int32Array;
  /** Each field [kvHeads][cap]. */
  private meta: TokenMeta;
  /** [kvHeads][cap] accumulated cumulative attention; allocated on first accumulation. */
  private cumulative: Float32Array | null = null;
  private mutations = 0;
  private cachedView: LayerCacheView | undefined;

  constructor(opts: LayerCacheOptions) {
    validateLayerOptions(opts);
    this.layer = opts.layer;
    this.kvHeads = opts.kvHeads;
    this.headDim = opts.headDim;
    this.groupSize = opts.groupSize ?? 1;
    if (opts.dtype !== undefined && opts.storage !== undefined) throw new RangeError(`LayerCache options: give dtype or storage, not both`);
    this.storage = storageSpec(opts.storage ?? opts.dtype ?? 'f32', opts.headDim, `LayerCache options.storage`);
    this.cap = opts.initialCapacity ?? 256;
    if (opts.tier && this.storage.quantized) {
      throw new RangeError(`LayerCache options.tier: the DRAM–flash tier holds dense K/V (f32, f16 or bf16); storage "${this.storage.kind}" is quantized`);
    }
    this.store = this.storage.quantized
      ? new QuantizedKV(this.storage, this.kvHeads, this.cap)
      : opts.tier
        ? new (opts.tier.spec.by === 'score' ? ScoreTieredKV : TieredKV)(this.storage, this.kvHeads, this.cap, opts.tier.spec, opts.tier.file)
        : new DenseKV(this.storage, this.kvHeads, this.cap);
    this.lengths = new Int32Array(this.kvHeads);
    this.meta = allocTokenMeta(this.kvHeads * this.cap);
  }

  /** The dense element type (f32 for quantized storage, whose inputs are checked as f32). */
  get dtype(): KVDType {
    return this.storage.denseDType;
  }
  get capacity(): number {
    return this.cap;
  }
  get version(): number {
    return this.mutations;
  }
  length(h: number): number {
    return this.lengths[h]!;
  }
  /** Slots held, summed over KV heads. */
  totalSlots(): number {
    return this.lengths.reduce((a, b) => a + b, 0);
  }
  maxLength(): number {
    return this.lengths.reduce((a, b) => Math.max(a, b), 0);
  }

  /**
   * Appends n tokens to every KV head: k, v [n][kvHeads][headDim] f32 token-major (RoPE
   * applied to k); meta of length n. Rejects non-finite values (and values a 16-bit dtype
   * cannot hold) naming the layer, head, token and dim. Quantized storage encodes on arrival.
   */
  append(k: Float32Array, v: Float32Array, meta: TokenMeta): void {
    const where = `layer ${this.layer} append`;
    const n = validateTokenMeta(meta, `${where}: meta`);
    const { kvHeads, headDim: d } = this;
    checkAppendable(k, 'k', n, kvHeads, d, this.dtype, where);
    checkAppendable(v, 'v', n, kvHeads, d, this.dtype, where);
    checkAppendMeta(meta, n, where);
    this.ensureCapacity(this.maxLength() + n);
    const cap = this.cap;
    for (let h = 0; h < kvHeads; h++) {
      const base = h * cap + this.lengths[h]!;
      this.store.appendHead(h, this.lengths[h]!, k, v, n, kvHeads);
      for (const f of TOKEN_META_FIELDS) (this.meta[f] as Int32Array).set(meta[f], base);
      this.cumulative?.fill(0, base, base + n);
      this.lengths[h] += n;
    }
    this.touch();
  }

  /**
   * Layout for the kernels; valid until the next mutation. Zero-copy for dense storage; for
   * quantized storage it carries the codes (`coded`) when the kernel reads them, else a
   * decoded f32 copy of the layer (`readsCoded` false: the correctness path, not the fast one).
   */
  layout(readsCoded = false): KVLayout {
    const { kvHeads, headDim, lengths } = this;
    const s = this.store.layout(!readsCoded);
    return { kvHeads, headDim, capacity: this.cap, ...s, lengths, positions: this.meta.position, modality: this.meta.modality };
  }

  /** How many of head h's slots are on the DRAM–flash tier's file (0 without a tier; by age its oldest). */
  coldSlots(h: number): number {
    return this.store.coldSlots?.(h) ?? 0;
  }

  /**
   * Adds an attend's column sums (stats.cumulative: [kvHeads] each [len]) to the scores that
   * choose a DRAM–flash tier's cold slots by score (cache.tier.by); kept apart from the
   * policy's accumulated scores, which a policy that never asked for them must not see.
   */
  addTierScores(cum: readonly Float32Array[]): void {
    if (!(this.store instanceof ScoreTieredKV)) throw new Error(`layer ${this.layer}: addTierScores needs a DRAM–flash tier by score (cache.tier.by = "score")`);
    if (cum.length !== this.kvHeads) throw new RangeError(`layer ${this.layer}: tier scores have ${cum.length} heads; expected ${this.kvHeads}`);
    cum.forEach((c, h) => {
      if (c.length !== this.lengths[h]) throw new RangeError(`layer ${this.layer}: tier scores[${h}] have ${c.length} slots; head holds ${this.lengths[h]}`);
    });
    this.store.addScores(cum);
  }

  /** Head h's tier scores by slot ([len] f32; tier by score), else undefined. */
  tierScores(h: number): Float32Array | undefined {
    return this.store instanceof ScoreTieredKV ? this.store.slotScores(h) : undefined;
  }

  /** Whether slot s of head h is on the DRAM–flash tier's file. */
  isColdSlot(h: number, s: number): boolean {
    if (this.store instanceof ScoreTieredKV) return this.store.isColdSlot(h, s);
    return s < this.coldSlots(h);
  }

  /** Asks the OS to read this layer's slots on file (DRAM–flash tier) ahead of their use. */
  prefetchCold(): void {
    this.store.prefetch?.();
  }

  /** Returns the disk of this layer's slots on file (the layer must not be used afterwards). */
  releaseFile(): void {
    this.store.release?.();
  }

  /** Read-only view for policies (decoded f32 per head, cached until the next mutation). */
  view(): LayerCacheView {
    return (this.cachedView ??= new LayerCacheView(this));
  }

  decodeHead(which: 'keys' | 'values', h: number): Float32Array {
    return this.store.decodeHead(which, h, this.lengths[h]!);
  }

  headMeta(h: number): TokenMeta {
    const a = h * this.cap;
    const b = a + this.lengths[h]!;
    const m = this.meta;
    return {
      position: m.position.subarray(a, b),
      modality: m.modality.subarray(a, b),
      segment: m.segment.subarray(a, b),
      time: m.time.subarray(a, b),
      row: m.row.subarray(a, b),
      col: m.col.subarray(a, b),
      weight: m.weight.subarray(a, b),
    };
  }

  headCumulative(h: number): Float32Array | undefined {
    const a = h * this.cap;
    return this.cumulative?.subarray(a, a + this.lengths[h]!);
  }

  /** Adds per-head column sums (stats.cumulative: [kvHeads] each [len]) to the accumulated scores. */
  addCumulative(cum: readonly Float32Array[]): void {
    if (cum.length !== this.kvHeads) throw new RangeError(`layer ${this.layer}: cumulative has ${cum.length} heads; expected ${this.kvHeads}`);
    this.cumulative ??= new Float32Array(this.kvHeads * this.cap);
    for (let h = 0; h < this.kvHeads; h++) {
      const c = cum[h]!;
      if (c.length !== this.lengths[h]) throw new RangeError(`layer ${this.layer}: cumulative[${h}] has ${c.length} slots; head holds ${this.lengths[h]}`);
      const base = h * this.cap;
      for (let j = 0; j < c.length; j++) this.cumulative[base + j] += c[j]!;
    }
    this.touch();
  }

  /**
   * Applies a plan: validates it whole, computes all merges from the pre-plan state, hands
   * `retain` slots to the retention store, then compacts every head in place (gather).
   * A merge target keeps its own accumulated score (the sources' scores leave with them).
   */
  apply(plan: Plan, retention?: RetentionStore): void {
    validatePlan(plan, { layer: this.layer, kvHeads: this.kvHeads, lengths: this.lengths, hasRetention: retention !== undefined });
    if (plan === null) return;
    const { kvHeads, headDim, storage } = this;
    const lengthsAfter = Int32Array.from(plan.heads, (hp) => hp.keep.length);
    const prune = plan.keyChannels && resolveKeyPrune(plan.keyChannels, { layer: this.layer, kvHeads, headDim, storage, pruned: this.prunedKeys() !== undefined, lengthsAfter });
    if (prune && !(this.store instanceof DenseKV)) {
      throw new RangeError(`plan for layer ${this.layer}: key-channel pruning (ThinK) needs the keys in DRAM, but this layer has a DRAM–flash tier (cache.tier); drop think or the tier`);
    }
    // Decoded pre-plan rows of the heads that merge or retain (f32 storage: zero-copy views).
    const rows = plan.heads.map((hp, h) =>
      (hp.merges?.length ?? 0) > 0 || (retention && (hp.retain?.length ?? 0) > 0) ? { keys: this.decodeHead('keys', h), values: this.decodeHead('values', h) } : null,
    );
    const merged: (MergedSlots | null)[] = plan.heads.map((hp, h) => {
      if (!hp.merges || hp.merges.length === 0) return null;
      const where = `plan for layer ${this.layer}, kv head ${h}`;
      const m = computeMerges(hp.merges, this.headMeta(h).weight, rows[h]!.keys, rows[h]!.values, this.headDim, where);
      m.values.forEach((row, i) => checkStorable(row, this.dtype, `${where}: merge into slot ${m.into[i]} values`));
      m.keys.forEach((row, i) => row && checkStorable(row, this.dtype, `${where}: merge into slot ${m.into[i]} keys`));
      return m;
    });
    plan.heads.forEach((hp, h) => {
      if (!retention || !hp.retain || hp.retain.length === 0) return;
      const g = gatherSlots(hp.retain, this.headDim, rows[h]!.keys, rows[h]!.values, this.meta, h * this.cap);
      retention.absorb(this.layer, h, g.keys, g.values, g.meta, hp.retainStrength ?? new Float32Array(hp.retain.length).fill(1), hp.retainShare, hp.retainDecay);
    });
    plan.heads.forEach((hp, h) => this.compactHead(h, hp.keep, merged[h]!));
    if (prune) (this.store as DenseKV).pruneKeys(prune.keyDim, prune.channels, prune.split);
    this.touch();
  }

  /** The pruned-key layout when a plan pruned this layer's key channels (ThinK), else undefined. */
  prunedKeys(): PrunedKeyLayout | undefined {
    return this.store instanceof DenseKV ? (this.store.prunedKeys() ?? undefined) : undefined;
  }

  /** Kept key channels of head h (ascending) when the keys are pruned, else undefined. */
  keyChannels(h: number): Int32Array | undefined {
    const p = this.prunedKeys();
    return p?.channels.subarray(h * p.keyDim, (h + 1) * p.keyDim);
  }

  /**
   * Key rerotation (key-rerotation.ts): turns each slot's key from its RoPE position (its
   * `position`: 1-D RoPE, never re-rotated before) to its rank in its head, so the kept keys
   * sit at RoPE positions 0..len−1. Positions in the metadata stay the sequence indices (the
   * causal mask's order). invFreq: [rotaryDim/2] radians per position. Dense storage only:
   * quantized codes would be re-encoded, compounding their error.
   */
  rerotateKeys(rotaryDim: number, invFreq: Float64Array): void {
    if (this.storage.quantized) {
      throw new Error(`layer ${this.layer}: key rerotation rewrites the keys, which storage "${this.storage.kind}" holds as codes (re-encoding compounds the error); use f32, f16 or bf16 storage`);
    }
    if (this.prunedKeys()) {
      throw new Error(`layer ${this.layer}: key rerotation turns channel pairs (c, c + rotaryDim/2) together, but this layer's keys are pruned (ThinK) and miss some channels; rerotate before pruning or drop one of the two`);
    }
    for (let h = 0; h < this.kvHeads; h++) {
      const len = this.lengths[h]!;
      const keys = this.decodeHead('keys', h).slice(0, len * this.headDim);
      const values = this.decodeHead('values', h);
      const pos = this.headMeta(h).position;
      for (let i = 0; i < len; i++) {
        if (pos[i] === i) continue;
        const row = keys.subarray(i * this.headDim, (i + 1) * this.headDim);
        rotateKeyRow(row, rotaryDim, invFreq, i - pos[i]!);
        checkStorable(row, this.dtype, `layer ${this.layer}, kv head ${h}: re-rotated key of slot ${i}`);
        this.store.writeSlot(h, i, row, values.subarray(i * this.headDim, (i + 1) * this.headDim));
      }
    }
    this.touch();
  }

  /** Reallocates buffers to hold exactly the longest head (+ headroom slots), freeing the rest. */
  shrinkToFit(headroom = 0): void {
    if (!Number.isInteger(headroom) || headroom < 0) throw new RangeError(`shrinkToFit: headroom must be an integer ≥ 0; got ${headroom}`);
    const target = this.maxLength() + headroom;
    if (target !== this.cap) this.realloc(target);
  }

  bytes(): LayerBytes {
    const slots = this.totalSlots();
    let weightSum = 0;
    for (let h = 0; h < this.kvHeads; h++) for (const w of this.headMeta(h).weight) weightSum += w;
    const perSlot = metaBytesPerSlot(this.meta) + (this.cumulative ? Float32Array.BYTES_PER_ELEMENT : 0);
    // A pruned layer also holds its kept channel indices and split counts (Int32).
    const pruned = this.prunedKeys();
    const pruneBytes = pruned ? pruned.channels.byteLength + pruned.split.byteLength : 0;
    return {
      slots,
      weightSum,
      kvBytes: this.store.usedBytes(this.lengths),
      kvFileBytes: this.store.fileBytes?.() ?? 0,
      kvAllocatedBytes: this.store.allocatedBytes(),
      metaBytes: slots * perSlot + pruneBytes,
      metaAllocatedBytes: this.kvHeads * this.cap * perSlot + pruneBytes,
    };
  }

  /**
   * Deep copy (same capacity, contents and, unless `accumulated` is false, accumulated
   * scores: a fork whose policy never reads them must not carry their bytes). Slots on the
   * DRAM–flash tier are copied into `tierFile` (default this layer's file).
   */
  clone(accumulated = true, tierFile?: TierFile): LayerCache {
    const c = new LayerCache({ layer: this.layer, kvHeads: this.kvHeads, headDim: this.headDim, groupSize: this.groupSize, storage: this.storage, initialCapacity: 0 });
    c.cap = this.cap;
    c.store = this.store.clone(tierFile);
    c.lengths.set(this.lengths);
    c.meta = sliceTokenMeta(this.meta, 0, this.kvHeads * this.cap);
    c.cumulative = accumulated && this.cumulative ? this.cumulative.slice() : null;
    return c;
  }

  private compactHead(h: number, keep: Int32Array, merged: MergedSlots | null): void {
    const base = h * this.cap;
    for (let r = 0; r < keep.length; r++) {
      const s = keep[r]!;
      if (s === r) continue; // keep is ascending, so s ≥ r: forward gather is safe in place
      copyMetaSlot(this.meta, base + s, this.meta, base + r);
      if (this.cumulative) this.cumulative[base + r] = this.cumulative[base + s]!;
    }
    this.store.keepHead(h, keep);
    if (merged) {
      const newIndex = new Map<number, number>();
      keep.forEach((s, r) => newIndex.set(s, r));
      merged.into.forEach((t, i) => {
        const r = newIndex.get(t)!;
        this.store.writeSlot(h, r, merged.keys[i] ?? null, merged.values[i]!);
        this.meta.weight[base + r] = merged.weight[i]!;
      });
    }
    this.lengths[h] = keep.length;
  }

  private ensureCapacity(need: number): void {
    if (need <= this.cap) return;
    let c = Math.max(this.cap, 1);
    while (c < need) c *= 2;
    this.realloc(c);
  }

  private realloc(cap: number): void {
    const { kvHeads } = this;
    this.store.resize(cap, this.lengths);
    const meta = allocTokenMeta(kvHeads * cap);
    const cumulative = this.cumulative ? new Float32Array(kvHeads * cap) : null;
    for (let h = 0; h < kvHeads; h++) {
      const len = this.lengths[h]!;
      const from = h * this.cap;
      const to = h * cap;
      for (const f of TOKEN_META_FIELDS) (meta[f] as Int32Array).set((this.meta[f] as Int32Array).subarray(from, from + len), to);
      cumulative?.set(this.cumulative!.subarray(from, from + len), to);
    }
    this.meta = meta;
    this.cumulative = cumulative;
    this.cap = cap;
    this.touch();
  }

  private touch(): void {
    this.mutations++;
    this.cachedView = undefined;
  }
}
