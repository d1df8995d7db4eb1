/**
 * CacheSession: one sequence's KV cache across all layers. The runtime appends K/V and calls
 * attend layer by layer; at endPrefill / endStep the session asks the policy for a plan per
 * layer (when the Schedule says so), applies it physically and frees the memory.
 *
 * Statistics: the backend gathers what the policy needs (plus row entropy when the policy has
 * a retention store) on the prefill and on decode steps a compression may close; other decode
 * steps gather only what the output or later steps read (idleDecodeNeeds). `cumulative` is also
 * added into each layer's accumulated scores (H2O).
 * A policy is handed the statistics of that layer's most recent attend() call, so the
 * runtime must attend a layer after appending to it and before endPrefill / endStep.
 */
import type { AttentionStats, StatNeeds } from '../attention/stats.js';
import { mergeNeeds, needsAnything } from '../attention/stats.js';
import type { BackendName, ComputeBackend } from '../attention/backend.js';
import type { Phase, PolicyContext, PolicyInstance, RetentionStore } from './policy-api.js';
import type { Schedule } from './schedule.js';
import { policyRandom } from '../util/random.js';
import { resolveBudget } from './budget.js';
import { rerotationFrequencies, type KeyRerotation } from './key-rerotation.js';
import { LayerCache } from './layer-cache.js';
import { TierFile } from './tier-file.js';
import { compressesDuringDecode, compressionMayFollowStep, shouldCompress } from './schedule.js';
import { resolveSessionOptions, validateLayerBudgets, type ResolvedSessionOptions } from './session-options.js';
import type { AttentionBackendStats } from './session-stats.js';
import type { CacheBytes, CacheSessionApi, CacheSessionOptions, SessionForkOptions } from './session-types.js';
import { projectStats, uncoveredNeeds } from './stats-projection.js';
import { sliceTokenMeta, type TokenMeta } from './token-meta.js';

/** What a session asks the backend for on every attend: its policy's needs (+ row entropy for a retention store). */
export function sessionNeeds(policy: PolicyInstance | null): StatNeeds {
  return policy ? mergeNeeds(policy.needs ?? {}, policy.retention ? { rowEntropy: true } : {}) : {};
}

/**
 * What a decode step gathers when no compression follows it: nothing the policy plans from
 * (gathering it is a large share of a small model's step), only `gather`, the row entropy a
 * retention store's readout adds to the output, and the H2O scores when a later decode step
 * may still compress (they accumulate across steps).
 */
export function idleDecodeNeeds(needs: StatNeeds, gather: StatNeeds, hasRetention: boolean, schedule: Schedule): StatNeeds {
  return mergeNeeds(gather, hasRetention ? { rowEntropy: true } : {}, needs.cumulative && compressesDuringDecode(schedule) ? { cumulative: true } : {});
}

export class CacheSession implements CacheSessionApi {
  readonly options: Readonly<CacheSessionOptions>;
  readonly backendName: BackendName;
  private readonly backend: ComputeBackend;
  private readonly resolved: ResolvedSessionOptions;
  private policy: PolicyInstance | null;
  private retention: RetentionStore | undefined;
  private readonly needs: StatNeeds;
  /** What decode steps that no compression follows gather (see idleDecodeNeeds). */
  private readonly idleNeeds: StatNeeds;
  private layers: LayerCache[];
  /** The DRAM–flash tier's file of this session (options.tier), shared with its clones; a fork opens its own. */
  readonly tierFile: TierFile | undefined;
  /** Per layer: the column sums a tier by score gathered beyond the policy's needs (reused by the next attend). */
  private tierColumns: (Float32Array[] | undefined)[] = [];
  /** Per layer: attends so far (a tier by score gathers its column sums on every scoreEvery-th). */
  private tierAttends: number[] = [];
  /** Per layer: statistics of the latest attend() and the layer version they describe. */
  private stats: (AttentionStats | undefined)[];
  private statsVersion: number[];
  private phase: Phase = 'prefill';
  private step = 0;
  private prefillTokens = 0;
  private layerBudgets: number[] | null = null;
  private rotaryShift = 0;
  private time: AttentionBackendStats = { attentionMs: 0, compressionMs: 0, compressions: 0 };

  constructor(options: CacheSessionOptions) {
    this.resolved = resolveSessionOptions(options);
    this.options = Object.freeze({ ...options });
    this.backend = options.backend;
    this.backendName = options.backend.name;
    this.policy = options.policy ?? null;
    this.retention = this.policy?.retention;
    this.needs = mergeNeeds(sessionNeeds(this.policy), options.gather ?? {});
    this.idleNeeds = idleDecodeNeeds(this.needs, options.gather ?? {}, this.retention !== undefined, this.resolved.schedule);
    const { numLayers, kvHeads, qHeads, headDim } = options;
    const { storage, initialCapacity } = this.resolved;
    const tierSpec = this.resolved.tier;
    this.tierFile = tierSpec ? TierFile.open(tierSpec, 'CacheSession options.tier') : undefined;
    const tier = tierSpec ? { spec: tierSpec, file: this.tierFile! } : undefined;
    this.layers = Array.from({ length: numLayers }, (_, layer) => new LayerCache({ layer, kvHeads, headDim, groupSize: qHeads / kvHeads, storage, initialCapacity, tier }));
    this.stats = new Array(numLayers).fill(undefined);
    this.statsVersion = new Array(numLayers).fill(-1);
  }

  /** Tokens in the prompt (appended to layer 0 before endPrefill). */
  get promptLength(): number {
    return this.prefillTokens;
  }
  /** Decode steps ended so far. */
  get steps(): number {
    return this.step;
  }
  get currentPhase(): Phase {
    return this.phase;
  }
  /**
   * How far the RoPE position of every later token runs behind its sequence position: 0 unless
   * the policy re-rotated the kept keys after prefill (then the prompt's length less the
   * longest head it kept, so the next token's RoPE position is that head's length).
   */
  get ropeShift(): number {
    return this.rotaryShift;
  }
  /** The union of statistics requested from the backend on every attend. */
  get statNeeds(): Readonly<StatNeeds> {
    return this.needs;
  }

  layer(l: number): LayerCache {
    if (!Number.isInteger(l) || l < 0 || l >= this.layers.length) throw new RangeError(`layer ${l} is outside [0, numLayers = ${this.layers.length})`);
    return this.layers[l]!;
  }

  /** Slots per KV head each layer may keep (known after endPrefill). */
  budgets(): number[] {
    if (!this.layerBudgets) throw new Error('CacheSession.budgets() is known only after endPrefill()');
    return this.layerBudgets.slice();
  }

  /**
   * Statistics of layer l's most recent attend() (undefined before the first). Valid until the
   * next attend() of layer l, which may overwrite their arrays in place: copy what you keep.
   * A decode step that no compression follows gathers only `options.gather` (and what the
   * output or later steps need: see idleDecodeNeeds), not the policy's statistics.
   */
  lastStats(l: number): AttentionStats | undefined {
    this.layer(l);
    return this.stats[l];
  }

  append(l: number, k: Float32Array, v: Float32Array, meta: TokenMeta): void {
    this.layer(l).append(k, v, meta);
    if (l === 0 && this.phase === 'prefill') this.prefillTokens += meta.position.length;
  }

  attend(l: number, q: Float32Array, qPositions: Int32Array, qModality: Uint8Array, out?: Float32Array): Float32Array {
    const cache = this.layer(l);
    const { qHeads, kvHeads, headDim } = this.options;
    if (!(qPositions instanceof Int32Array)) throw new TypeError(`layer ${l} attend: qPositions must be an Int32Array [n]`);
    const n = qPositions.length;
    const t0 = performance.now();
    const needs = this.phase === 'decode' && !compressionMayFollowStep(this.resolved.schedule, this.step) ? this.idleNeeds : this.needs;
    // DRAM–flash tier: the OS reads the next layer's cold slots while this one computes.
    if (this.resolved.tier) this.layers[(l + 1) % this.layers.length]!.prefetchCold();
    // A tier by score gathers the column sums it ranks slots by, also when the policy does not
    // (then they go to the tier only: the policy's statistics stay what it asked for).
    let scoring = false;
    if (this.resolved.tier?.by === 'score') {
      const seen = this.tierAttends[l] ?? 0;
      this.tierAttends[l] = seen + 1;
      scoring = seen % this.resolved.tier.scoreEvery === 0;
    }
    const tierOnly = scoring && !needs.cumulative;
    const prev = this.stats[l];
    const reuse = tierOnly && prev ? { ...prev, cumulative: this.tierColumns[l] } : prev;
    // The layer's previous statistics are replaced by this call: the backend may write into them.
    const res = this.backend.attend({ q, n, qHeads, qPositions, qModality, kv: cache.layout(this.backend.readsCoded === true), scale: this.resolved.scale, needs: tierOnly ? { ...needs, cumulative: true } : needs, out, reuse });
    if (res.stats.cumulative) {
      if (scoring) cache.addTierScores(res.stats.cumulative);
      if (tierOnly) {
        this.tierColumns[l] = res.stats.cumulative;
        delete res.stats.cumulative;
      } else cache.addCumulative(res.stats.cumulative);
    }
    const w = Math.min(needs.recentQueries ?? 0, n);
    if (w > 0) res.stats.recentQueries = { q: q.slice((n - w) * qHeads * headDim, n * qHeads * headDim), positions: qPositions.slice(n - w) };
    this.stats[l] = res.stats;
    this.statsVersion[l] = cache.version;
    this.retention?.readout(l, q, n, qHeads, kvHeads, headDim, res.stats, res.out);
    this.time.attentionMs += performance.now() - t0;
    return res.out;
  }

  endPrefill(): void {
    if (this.phase !== 'prefill') throw new Error('CacheSession.endPrefill() was already called for this sequence');
    this.phase = 'decode';
    if (!this.policy) {
      this.layerBudgets = new Array(this.layers.length).fill(this.prefillTokens);
      return;
    }
    // A streamed prefill fixed its budgets at its first compression (holdAtBudget).
    this.layerBudgets ??= this.allocate(resolveBudget(this.resolved.budget!, this.prefillTokens));
    for (let l = 0; l < this.layers.length; l++) this.compress(l, 'prefill');
    if (this.policy.rerotateKeys) this.rerotate(this.policy.rerotateKeys);
  }

  /**
   * Key rerotation after the prefill's compression: every head's kept keys move to RoPE
   * positions 0..len−1 (the slots' sequence positions stay: the causal mask keeps the original
   * order), and later tokens continue at the longest head's length (ropeShift).
   */
  private rerotate(r: KeyRerotation): void {
    const invFreq = rerotationFrequencies(r, this.options.headDim, this.prefillTokens, `policy "${this.policy!.name}" key rerotation`);
    let longest = 0;
    for (const cache of this.layers) {
      cache.rerotateKeys(r.rotaryDim, invFreq);
      longest = Math.max(longest, cache.maxLength());
    }
    this.rotaryShift = this.prefillTokens - longest;
  }

  /**
   * Streaming / chunked prefill: compress every layer that holds more than its budget, without
   * ending the prefill, so the cache stays within budget (plus the next chunk) while a long
   * prompt streams in. The budget is resolved against `streamLength`, the whole prompt's
   * length (a ratio budget then ends at the size a one-pass prefill would keep). The layer
   * budgets are fixed at the first call that finds the prefill over budget (an allocator sees
   * the statistics of the prompt so far); endPrefill keeps them. Policies see phase
   * 'prefill', the statistics of the latest chunk and the tokens prefilled so far.
   */
  holdAtBudget(streamLength: number): void {
    if (this.phase !== 'prefill') throw new Error('CacheSession.holdAtBudget(): endPrefill() was already called; during decode the schedule compresses');
    if (!Number.isInteger(streamLength) || streamLength < this.prefillTokens) {
      throw new RangeError(`CacheSession.holdAtBudget(): streamLength must be an integer ≥ the ${this.prefillTokens} tokens prefilled so far; got ${streamLength}`);
    }
    if (!this.policy) return;
    const base = resolveBudget(this.resolved.budget!, streamLength);
    if (!this.layerBudgets) {
      if (this.prefillTokens <= base) return;
      this.layerBudgets = this.allocate(base, streamLength);
    }
    for (let l = 0; l < this.layers.length; l++) this.compress(l, 'prefill');
  }

  /** Per-layer budgets: the policy's allocator over the latest statistics, or `base` everywhere. */
  private allocate(base: number, streamLength?: number): number[] {
    const numLayers = this.layers.length;
    if (!this.policy!.allocateLayers) return new Array(numLayers).fill(base);
    const stats = this.stats.map((s, l) => {
      if (!s) throw new Error(`policy "${this.policy!.name}" allocates layer budgets from prefill statistics, but layer ${l} was never attended`);
      return s;
    });
    // Before any compression every head holds the prompt's slots, so layer 0 head 0 describes them.
    const meta = sliceTokenMeta(this.layers[0]!.headMeta(0), 0, this.layers[0]!.length(0));
    const raw = this.policy!.allocateLayers({ base, numLayers, promptLength: this.prefillTokens, streamLength, stats, meta });
    return validateLayerBudgets(raw, numLayers, this.policy!.name);
  }

  endStep(): void {
    if (this.phase !== 'decode') throw new Error('CacheSession.endStep() called before endPrefill()');
    this.step++;
    if (this.policy) for (let l = 0; l < this.layers.length; l++) this.compress(l, 'decode');
  }

  bytes(): CacheBytes {
    const b = { logicalTokens: 0, slots: 0, kvBytes: 0, kvDramBytes: 0, kvFileBytes: 0, kvAllocatedBytes: 0, metaBytes: 0, metaAllocatedBytes: 0, retentionBytes: 0, totalBytes: 0 };
    for (const cache of this.layers) {
      const lb = cache.bytes();
      b.logicalTokens += lb.weightSum;
      b.slots += lb.slots;
      b.kvBytes += lb.kvBytes;
      b.kvFileBytes += lb.kvFileBytes;
      b.kvDramBytes += lb.kvBytes - lb.kvFileBytes;
      b.kvAllocatedBytes += lb.kvAllocatedBytes;
      b.metaBytes += lb.metaBytes;
      b.metaAllocatedBytes += lb.metaAllocatedBytes;
    }
    b.logicalTokens /= this.layers.length * this.options.kvHeads;
    b.retentionBytes = this.retention?.bytes() ?? 0;
    b.totalBytes = b.kvBytes + b.metaBytes + b.retentionBytes;
    return b;
  }

  /**
   * Gives back what this session holds outside the JS heap: its cold slots' disk on the
   * DRAM–flash tier file (the file itself was unlinked when opened; its mapping goes with the
   * last buffer). The session must not be used afterwards. Without a tier: nothing to do.
   */
  close(): void {
    for (const cache of this.layers) cache.releaseFile();
  }

  timings(): AttentionBackendStats {
    return { ...this.time };
  }

  /**
   * Deep copy of the cache state (layers, accumulated scores, statistics, phase, budgets), to
   * continue several answers from one compressed prefix. A policy or retention store that
   * keeps state must offer `clone()`; otherwise cloning a session holding one is an error.
   */
  clone(): CacheSession {
    const c = Object.create(CacheSession.prototype) as CacheSession;
    Object.assign(c, this);
    c.layers = this.layers.map((x) => x.clone());
    c.stats = this.stats.slice();
    c.tierColumns = []; // scratch the backend writes into: never shared
    c.tierAttends = this.tierAttends.slice();
    c.statsVersion = this.statsVersion.slice();
    c.layerBudgets = this.layerBudgets?.slice() ?? null;
    c.time = { ...this.time };
    const policyClone = (this.policy as { clone?: () => PolicyInstance } | null)?.clone;
    if (this.policy && policyClone) {
      c.policy = policyClone.call(this.policy);
      c.retention = c.policy.retention;
    } else if (this.retention) {
      const storeClone = (this.retention as { clone?: () => RetentionStore }).clone;
      if (!storeClone) throw new Error(`CacheSession.clone(): policy "${this.policy?.name}" has a retention store without clone(); it cannot be copied`);
      c.retention = storeClone.call(this.retention);
    }
    return c;
  }

  /**
   * A clone (see clone()) whose later attends also gather `extra` statistics, e.g. the queries
   * of a second pass over the prompt (src/model/second-pass.ts) that this session's own needs
   * do not ask for.
   */
  cloneGathering(extra: StatNeeds): CacheSession {
    const c = this.clone();
    (c as unknown as { needs: StatNeeds }).needs = mergeNeeds(this.needs, extra);
    // The backend may write a layer's new statistics into its previous ones: the clone's
    // attends must not overwrite this session's.
    c.stats = new Array(this.layers.length).fill(undefined);
    c.statsVersion = new Array(this.layers.length).fill(-1);
    return c;
  }

  /**
   * A session that continues this prefill under its own policy, budget, schedule, seed and
   * backend, exactly as if it had run the prefill itself: one copy of the cache (K/V, metadata,
   * the accumulated H2O scores only when its policy reads them), each layer's last statistics
   * cut down to what its policy needs (they must have been gathered: options.gather of this
   * session), and a retention store that observes them as it would have watched the prefill.
   * Only a policy-free session that has not ended its prefill can fork: no policy has acted
   * yet, so the fork's policy sees the prefill it would have seen. `keepStats` names extra
   * statistics to hand over (those a backend wrapper added, e.g. the runner's flow capture).
   */
  fork(opts: SessionForkOptions, keepStats: StatNeeds = {}): CacheSession {
    if (this.phase !== 'prefill') throw new Error('CacheSession.fork(): endPrefill() was already called; fork a prefill before it ends (clone() copies a compressed cache)');
    if (this.policy) throw new Error(`CacheSession.fork(): this session runs policy "${this.policy.name}", which may already have acted; fork a session opened without a policy`);
    // The prefill's own gather is for its forks; a fork gathers only what it is given.
    const options: CacheSessionOptions = { ...this.options, gather: undefined, ...opts };
    const c = new CacheSession({ ...options, initialCapacity: 0 });
    const uncovered = uncoveredNeeds(this.needs, c.needs);
    if (uncovered) throw new Error(`CacheSession.fork(): policy "${c.policy?.name}" needs statistics this prefill did not gather: ${uncovered} (open the shared prefill with gather covering every fork)`);
    if (c.retention && !c.retention.observe) throw new Error(`CacheSession.fork(): policy "${c.policy?.name}" has a retention store without observe(); it must watch its own prefill`);
    const shown = mergeNeeds(c.needs, keepStats);
    const writable = c as unknown as { options: Readonly<CacheSessionOptions> };
    writable.options = Object.freeze(options);
    c.layers = this.layers.map((x) => x.clone(Boolean(c.needs.cumulative), c.tierFile));
    c.stats = this.stats.map((s) => (s ? projectStats(s, shown) : undefined));
    c.statsVersion = this.statsVersion.map((v, l) => (v === this.layers[l]!.version ? c.layers[l]!.version : -1));
    c.prefillTokens = this.prefillTokens;
    c.time = { ...this.time };
    c.stats.forEach((s, l) => s && c.retention?.observe!(l, s));
    return c;
  }

  private compress(l: number, phase: Phase): void {
    const cache = this.layers[l]!;
    const budget = this.layerBudgets![l]!;
    const { kvHeads, numLayers } = this.options;
    const policy = this.policy!;
    if (!shouldCompress(this.resolved.schedule, phase, this.step, cache.totalSlots(), budget * kvHeads)) return;
    const t0 = performance.now();
    const ctx: PolicyContext = {
      view: cache.view(),
      stats: this.statsFor(l),
      phase,
      layer: l,
      numLayers,
      step: this.step,
      promptLength: this.prefillTokens,
      budget,
      queryAware: this.resolved.queryAware,
      random: policyRandom(this.resolved.seed, l, this.step),
    };
    const plan = policy.plan(ctx);
    if (plan !== null) {
      const kept = Array.isArray(plan?.heads) ? plan.heads.reduce((s, hp) => s + (hp?.keep?.length ?? 0), 0) : 0;
      if (kept > budget * kvHeads) {
        throw new RangeError(`policy "${policy.name}" planned ${kept} slots for layer ${l}; its budget is ${budget} per KV head × ${kvHeads} heads = ${budget * kvHeads}`);
      }
      cache.apply(plan, this.retention);
      this.time.compressions++;
    }
    // Prefill ends exact; decode keeps room for the tokens until the next compression.
    const s = this.resolved.schedule;
    cache.shrinkToFit(phase === 'prefill' ? 0 : s.kind === 'every' ? s.steps : 1);
    this.time.compressionMs += performance.now() - t0;
  }

  private statsFor(l: number): AttentionStats {
    const s = this.stats[l];
    if (!needsAnything(this.needs)) return s ?? { groupSize: this.options.qHeads / this.options.kvHeads, queries: 0 };
    if (!s || this.statsVersion[l] !== this.layers[l]!.version) {
      throw new Error(
        `layer ${l} changed since its last attend(); policy "${this.policy!.name}" needs statistics that match the slots, so attend every layer after appending and before endPrefill()/endStep()`,
      );
    }
    return s;
  }
}
