/**
 * RetentiveKV: State-Space Memory for Uncertainty-Aware Multimodal KV Cache Eviction —
 * arXiv 2605.04075 (ACL 2026 Findings). The state-space memory that evicted tokens are
 * absorbed into, and its query-conditioned gated readout added to the attention output at
 * every attention call (the "reactivation" of evicted tokens).
 *
 * Per (layer, KV head): a visual-dominant state S_V (image/video slots) and a recall state S_T
 * (all other slots), or one unified state (ablation). State transition:
 * - 'per-token' (default, the method notes' reading): the slots of an absorb call are written
 *   in the order given, each as S ← h_i·S + a_i·φ(k_i)ᵀv_i on the state of its kind, with the
 *   per-token retention h_i ∈ (0, 1] the policy computed from the token's entropy (σ(β·H_i),
 *   the plan's retainDecay) and a_i its write strength (attention × grid decay).
 * - 'per-event' (the earlier reading, kept as an option): each absorb() decays the states it
 *   writes once by r_t = σ(decayWeight·H̄_t + decayBias), H̄_t the mean row entropy of the
 *   layer's latest attention call, before that call's writes (so a prefill absorb into an
 *   empty state decays nothing).
 * Readout for query row q of KV head h:  O_S = Σ_states φ(q)S / (Σ_states φ(q)z)   and
 *   out += γ·O_S (additive, the notes' O_t = Attn_local + γ_t·O_S; default)  or
 *   out = (1−γ)·out + γ·O_S (convex)  or  out = (1−γm)·out + γm·O_S (mass),
 *   γ = σ(gateWeight·H̄_q + gateBias), H̄_q the entropy (nats) of this query row's attention
 *   over the local cache. m is the attention mass the absorbed slots held when the policy
 *   measured it (the plans' retainShare, decayed with the state: m ← 1 − (1 − r·m)(1 − share),
 *   r the product of the call's transitions); 'mass' is the softmax identity
 *   O_full = (1−m)·O_kept + m·O_evicted with the state standing in for O_evicted.
 *
 * Ours [INF] (the sources are silent): φ (elu1 | identity), the shared normaliser z, gate
 * w=1, b=0 fixed (nothing is trained), "without query retrieval" = no readout. Nothing is read
 * while a head's states are empty.
 */
import type { AttentionStats } from '../attention/stats.js';
import { isVisualCode } from '../cache/modality.js';
import type { TokenMeta } from '../cache/token-meta.js';
import type { RetentionStore } from '../cache/policy-api.js';
import { applyFeatureMap, type FeatureMap } from './feature-map.js';
import { LinearState } from './linear-state.js';

export type StateLayout = 'dual' | 'unified';
export type Retrieval = 'gated' | 'ungated' | 'off';
export type Combine = 'additive' | 'convex' | 'mass';
export type Transition = 'per-token' | 'per-event';

export interface StateMemoryOptions {
  numLayers: number;
  kvHeads: number;
  headDim: number;
  /** dual: S_V for image/video slots and S_T for the rest; unified: one state. */
  states: StateLayout;
  featureMap: FeatureMap;
  /** gated: γ = σ(w·H̄ + b); ungated: γ = 1; off: no readout (ablation). */
  retrieval: Retrieval;
  combine: Combine;
  /** per-token: absorb() needs the plan's decay per slot; per-event: r_t from the row entropy. */
  transition: Transition;
  gateWeight: number;
  gateBias: number;
  /** per-event only: r_t = σ(decayWeight·H̄_t + decayBias); decayWeight = 0 gives a constant decay. */
  decayWeight: number;
  decayBias: number;
}

const DEN_EPS = 1e-30;

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

export class StateSpaceMemory implements RetentionStore {
  private readonly perHead: number;
  /** [(layer·kvHeads + head)·perHead + kind], allocated on first write. */
  private readonly states: (LinearState | undefined)[];
  /** [layer·kvHeads + head] mean row entropy (nats) of the latest attention call; NaN = none yet. */
  private readonly lastEntropy: Float32Array;
  /** [layer·kvHeads + head] attention mass m held by what the states absorbed (mass combine). */
  private readonly absorbedMass: Float32Array;
  private readonly phi: Float64Array;
  private readonly num: Float64Array;

  constructor(readonly options: StateMemoryOptions) {
    const { numLayers, kvHeads, headDim } = options;
    for (const [k, v] of Object.entries({ numLayers, kvHeads, headDim })) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`StateSpaceMemory: ${k} must be an integer ≥ 1; got ${v}`);
    }
    this.perHead = options.states === 'dual' ? 2 : 1;
    this.states = new Array(numLayers * kvHeads * this.perHead).fill(undefined);
    this.lastEntropy = new Float32Array(numLayers * kvHeads).fill(Number.NaN);
    this.absorbedMass = new Float32Array(numLayers * kvHeads);
    this.phi = new Float64Array(headDim);
    this.num = new Float64Array(headDim);
  }

  /** State kind a slot of this modality is written to: 0 = S_V (or unified), 1 = S_T. */
  kindOf(modality: number): number {
    return this.perHead === 2 && !isVisualCode(modality) ? 1 : 0;
  }

  /** The state of (layer, head, kind), or undefined while nothing was written there. */
  state(layer: number, head: number, kind = 0): LinearState | undefined {
    return this.states[this.index(layer, head) * this.perHead + kind];
  }

  /** The per-event decay r_t the next absorb into (layer, head) would apply. */
  decayFor(layer: number, head: number): number {
    const h = this.lastEntropy[this.index(layer, head)]!;
    return sigmoid(this.options.decayWeight * (Number.isNaN(h) ? 0 : h) + this.options.decayBias);
  }

  /** The attention mass m the mass combine weighs (layer, head)'s readout with. */
  massOf(layer: number, head: number): number {
    return this.absorbedMass[this.index(layer, head)]!;
  }

  absorb(
    layer: number,
    kvHead: number,
    keys: Float32Array,
    values: Float32Array,
    meta: TokenMeta,
    strength: Float32Array,
    share?: number,
    decay?: Float32Array,
  ): void {
    const d = this.options.headDim;
    const count = meta.position.length;
    const where = `RetentionStore.absorb(layer ${layer}, kvHead ${kvHead})`;
    if (keys.length !== count * d || values.length !== count * d) {
      throw new RangeError(`${where}: keys/values have ${keys.length}/${values.length} floats; expected count·headDim = ${count}·${d}`);
    }
    if (strength.length !== count) throw new RangeError(`${where}: strength has ${strength.length} entries; expected ${count}`);
    if (share !== undefined && !(share >= 0 && share <= 1)) throw new RangeError(`${where}: share must be in [0, 1]; got ${share}`);
    if (this.options.combine === 'mass' && share === undefined) throw new Error(`${where}: the mass combine needs the plan's retainShare`);
    const perToken = this.options.transition === 'per-token';
    if (perToken) {
      if (!decay) throw new Error(`${where}: the per-token transition needs the plan's retainDecay (one value in (0, 1] per slot)`);
      if (decay.length !== count) throw new RangeError(`${where}: decay has ${decay.length} entries; expected ${count}`);
    }
    if (count === 0) return;
    const base = this.index(layer, kvHead) * this.perHead;
    const eventDecay = this.decayFor(layer, kvHead);
    let massDecay = perToken ? 1 : eventDecay;
    const decayed = [false, false];
    for (let i = 0; i < count; i++) {
      const a = strength[i]!;
      if (!(a >= 0) || !Number.isFinite(a)) throw new RangeError(`${where}: strength[${i}] must be finite and ≥ 0; got ${a}`);
      const kind = this.kindOf(meta.modality[i]!);
      let st = this.states[base + kind];
      if (!st) st = this.states[base + kind] = new LinearState(d);
      if (perToken) {
        const h = decay![i]!;
        if (!(h > 0 && h <= 1)) throw new RangeError(`${where}: decay[${i}] must be in (0, 1]; got ${h}`);
        st.decay(h); // S ← h_i·S before token i is written
        massDecay *= h;
      } else if (!decayed[kind]) {
        st.decay(eventDecay); // once per absorb event, before this event's writes
        decayed[kind] = true;
      }
      st.write(applyFeatureMap(this.options.featureMap, keys, i * d, d, this.phi), values, i * d, a);
    }
    const mi = this.index(layer, kvHead);
    this.absorbedMass[mi] = 1 - (1 - massDecay * this.absorbedMass[mi]!) * (1 - (share ?? 0));
  }

  /** Records each head's mean query-row entropy (the next absorb's decay input); no readout. */
  observe(layer: number, stats: AttentionStats): void {
    const n = stats.queries;
    for (let h = 0; h < this.options.kvHeads; h++) {
      const rows = stats.rowEntropy?.[h];
      if (!rows || n <= 0) continue;
      let sum = 0;
      for (let i = 0; i < n; i++) sum += rows[i]!;
      this.lastEntropy[this.index(layer, h)] = sum / n;
    }
  }

  readout(layer: number, q: Float32Array, n: number, qHeads: number, kvHeads: number, headDim: number, stats: AttentionStats, out: Float32Array): void {
    const o = this.options;
    const where = `RetentionStore.readout(layer ${layer})`;
    if (kvHeads !== o.kvHeads || headDim !== o.headDim || qHeads % kvHeads !== 0) {
      throw new RangeError(`${where}: shape qHeads=${qHeads} kvHeads=${kvHeads} headDim=${headDim} does not match the store (kvHeads=${o.kvHeads}, headDim=${o.headDim})`);
    }
    if (q.length !== n * qHeads * headDim || out.length !== q.length) {
      throw new RangeError(`${where}: q/out have ${q.length}/${out.length} floats; expected n·qHeads·headDim = ${n * qHeads * headDim}`);
    }
    this.observe(layer, stats);
    const entropy = stats.rowEntropy;
    const group = qHeads / kvHeads;
    for (let h = 0; h < kvHeads; h++) {
      const rows = entropy?.[h];
      if (o.retrieval === 'off') continue;
      const slot = this.index(layer, h);
      const base = slot * this.perHead;
      // The mass combine weighs every row of this head by the same absorbed mass m.
      const weight = o.combine === 'mass' ? this.absorbedMass[slot]! : 1;
      const live = this.states.slice(base, base + this.perHead).filter((s): s is LinearState => s !== undefined && !s.isEmpty);
      if (live.length === 0) continue;
      if (o.retrieval === 'gated' && !rows) {
        throw new Error(`${where}: gated retrieval needs rowEntropy statistics; the policy must declare needs.rowEntropy`);
      }
      for (let i = 0; i < n; i++) {
        const gamma = weight * (o.retrieval === 'gated' ? sigmoid(o.gateWeight * rows![i]! + o.gateBias) : 1);
        for (let g = 0; g < group; g++) {
          const off = (i * qHeads + h * group + g) * headDim;
          this.readOne(live, q, off, gamma, out);
        }
      }
    }
  }

  /** Bytes held: every allocated state (S, z, scale) and the per-(layer, head) entropy record. */
  bytes(): number {
    let b = this.lastEntropy.byteLength + this.absorbedMass.byteLength;
    for (const s of this.states) if (s) b += s.byteLength;
    return b;
  }

  /** Deep copy; CacheSession.clone() uses it to fork a compressed prefix. */
  clone(): StateSpaceMemory {
    const c = new StateSpaceMemory(this.options);
    this.states.forEach((s, i) => (c.states[i] = s?.clone()));
    c.lastEntropy.set(this.lastEntropy);
    c.absorbedMass.set(this.absorbedMass);
    return c;
  }

  private readOne(live: LinearState[], q: Float32Array, off: number, gamma: number, out: Float32Array): void {
    const d = this.options.headDim;
    const phi = applyFeatureMap(this.options.featureMap, q, off, d, this.phi);
    this.num.fill(0);
    let den = 0;
    for (const s of live) den += s.readInto(phi, this.num);
    if (!(Math.abs(den) > DEN_EPS)) return;
    const keepLocal = this.options.combine === 'additive' ? 1 : 1 - gamma;
    for (let j = 0; j < d; j++) out[off + j] = keepLocal * out[off + j]! + (gamma * this.num[j]!) / den;
  }

  private index(layer: number, head: number): number {
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.options.numLayers) {
      throw new RangeError(`StateSpaceMemory: layer ${layer} is outside 0..${this.options.numLayers - 1}`);
    }
    if (!Number.isInteger(head) || head < 0 || head >= this.options.kvHeads) {
      throw new RangeError(`StateSpaceMemory: kvHead ${head} is outside 0..${this.options.kvHeads - 1}`);
    }
    return layer * this.options.kvHeads + head;
  }
}
