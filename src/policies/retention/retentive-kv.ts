/**
 * RetentiveKV: State-Space Memory for Uncertainty-Aware Multimodal KV Cache Eviction —
 * arXiv 2605.04075 (ACL 2026 Findings).
 * Keeps the first `sinks` slots, a recent window and the top slots by the entropy-guided
 * retention score R; evicted slots with high entropy are absorbed, one token at a time in
 * position order, into a constant-size state-space memory (visual state with grid-aware write
 * decay, recall state for the rest) that a query-gated readout adds to every later attention
 * output, so evicted information can be reactivated while decoding.
 *
 * Ours where the paper is silent [INF] (options below; scores in ./retentive-scores.ts,
 * absorption in ./retentive-absorb.ts, state in src/ssm/): sinks 4 (`<s>` and the first
 * tokens are never evicted), window 32, λ = 0.5, one entropy group per modality with α
 * min-max normalised over the media slots, absorption gate q = 0.5, write strength =
 * accumulated attention / its head maximum, γ_s = 0.9 around a root patch per frame,
 * per-token transition h_i = σ(8·H̃_i), φ = elu+1, and the notes' additive gated readout
 * out + γ·O_S with γ = σ(w·H̄_q + b), w = 1, b = 0, H̄_q the current query row's entropy.
 * α is the text-query attention (the question's rows); without the question in the compressed
 * prefix (query-agnostic prefill) it is the accumulated attention of every prefill row — the
 * notes' "accumulated attention" and H2O's score (option agnosticScore: 'mean' divides it by
 * the number of rows that saw the slot; 'text-rows' is the earlier reading, which there reads
 * only the `<s>` row and so keeps the earliest tokens).
 * The earlier reading of every point above is an option ({@link RETENTIVEKV_EARLIER_READING}):
 * sinks 0, 'visual' entropy groups (audio got no entropy term), one min-max over all slots
 * (against `<s>` and the question words), a 'per-event' decay σ(H̄) from the layer's mean row
 * entropy before the event's writes, the 'mass' readout (1−γm)·out + γm·O_S with m the
 * prefill attention mass the absorbed slots held, and one root patch per video ('segment').
 * Runs at prefill and, with an 'every' or 'over-budget' schedule, at decode (each step's
 * evictions are absorbed).
 * Not in the paper: `kernel` > 1 pools R over neighbouring slots before the top-k (SnapKV's
 * clustering), since evidence in audio-video clips comes in runs of adjacent tokens; default 1.
 * Ablations: retrieval 'off' (no state, no readout: "w/o query retrieval"), states 'unified'
 * (one state, no grid decay), entropy false (R = α, every evicted slot absorbed, no
 * entropy-modulated decay).
 */
import { z } from 'zod';
import type { TokenMeta } from '../../cache/token-meta.js';
import { FEATURE_MAPS } from '../../ssm/feature-map.js';
import { StateSpaceMemory } from '../../ssm/state-memory.js';
import { checkBudget } from '../parts/compose.js';
import { kernelOption, poolingOption } from '../parts/options.js';
import { planFromKeep } from '../parts/plan.js';
import { pool1d } from '../parts/pool.js';
import { accumulatedScores, meanReceived, slotStat } from '../parts/scores.js';
import { allSlots, complement, keepTopWithRecent } from '../parts/select.js';
import { definePolicy } from '../registry.js';
import type { Plan, PolicyContext } from '../../cache/policy-api.js';
import { chooseAbsorbed, gridDecay, transitionDecay } from './retentive-absorb.js';
import { entropyGroupsOf, groupTokenEntropy, retentionScores } from './retentive-scores.js';

const NAME = 'retentivekv';

export const retentiveKVOptions = z.object({
  sinks: z.number().int().min(0).default(4).describe('first slots (`<s>` and the next ones) never evicted, clamped to the budget; 0 = none (earlier reading) [INF]'),
  window: z.number().int().min(0).default(32).describe('recent slots always kept exactly (clamped to the budget left after the sinks) [INF: not reported]'),
  kernel: kernelOption(1).describe('pooling of R over neighbouring slots before the top-k, as SnapKV pools its scores; 1 = none, as published [ours, not the paper]'),
  pooling: poolingOption('avg'),
  lambda: z.number().min(0).max(1).default(0.5).describe('R = λ·attention + (1−λ)·entropy, both min-max normalised (see normalize) [INF]'),
  entropy: z.boolean().default(true).describe('entropy guidance of score, absorption and decay; off = R = attention, absorb all, no entropy-modulated decay (ablation)'),
  entropyMode: z.enum(['token', 'distribution']).default('token').describe("token: −p log p per slot; distribution: R = attention and the group's entropy sets the absorbed fraction [INF]"),
  entropyGroups: z.enum(['modality', 'visual']).default('modality').describe('entropy groups: one per modality (audio has its own), or visual vs the rest (earlier reading) [INF]'),
  normalize: z
    .enum(['media', 'modality', 'all'])
    .default('media')
    .describe('min-max scope: α over the media slots (text apart) and H per entropy group; per modality; or one scope over all slots (earlier reading) [INF]'),
  textEntropy: z.enum(['zero', 'analogue']).default('zero').describe("entropy of text slots in R ('visual' groups: of every non-visual slot): 0, or −p log p within the group [INF]"),
  agnosticScore: z
    .enum(['accumulated', 'mean', 'text-rows'])
    .default('accumulated')
    .describe('α at a query-agnostic prefill (no question in the prefix): accumulated attention of all rows, its per-row mean, or the text rows anyway (earlier reading) [INF]'),
  absorbQuantile: z.number().min(0).max(1).default(0.5).describe('absorb evicted slots whose entropy ≥ this quantile within their group; 0 = all [INF]'),
  absorbStrength: z.enum(['attention', 'uniform']).default('attention').describe('write strength: accumulated attention / head max, or 1 [INF]'),
  gridDecay: z.number().gt(0).max(1).default(0.9).describe('γ_s: visual writes scale by γ_s^(Manhattan distance to the root patch); 1 = off [INF]'),
  gridRoot: z.enum(['frame', 'segment']).default('frame').describe('root patch per frame of a video, or one per segment (earlier reading) [INF]'),
  states: z.enum(['dual', 'unified']).default('dual').describe('dual: visual state + recall state; unified: one state, no grid decay (ablation)'),
  retrieval: z.enum(['gated', 'ungated', 'off']).default('gated').describe('readout gate γ = σ(w·H̄_q + b), γ = 1, or no state at all (ablation "w/o query retrieval")'),
  combine: z
    .enum(['additive', 'convex', 'mass'])
    .default('additive')
    .describe('out + γ·O_S (the notes), (1−γ)·out + γ·O_S, or mass: (1−γm)·out + γm·O_S with m the prefill attention mass the absorbed slots held (earlier default) [INF]'),
  featureMap: z.enum(FEATURE_MAPS).default('elu1').describe('linear-attention feature map φ of keys and queries [INF]'),
  gateWeight: z.number().default(1).describe('w of the readout gate (fixed, not trained) [INF]'),
  gateBias: z.number().default(0).describe('b of the readout gate [INF]'),
  transition: z
    .enum(['per-token', 'per-event'])
    .default('per-token')
    .describe("per-token: S ← h_i·S + a_i·φ(k_i)ᵀv_i, h_i = σ(decayWeight·H̃_i + decayBias); per-event: one r = σ(decayWeight·H̄ + decayBias) per absorb call, H̄ = the layer's mean row entropy (earlier reading, used decayWeight 1) [INF]"),
  decayWeight: z.number().default(8).describe('weight of the entropy in the state transition (per-token: H̃ ∈ [0, 1]; per-event: H̄ in nats) [INF]'),
  decayBias: z.number().default(0).describe('bias of the state transition [INF]'),
});
export type RetentiveKVOptions = z.output<typeof retentiveKVOptions>;

/** The option values that reproduce the implementation before the issue-18 fixes. */
export const RETENTIVEKV_EARLIER_READING = {
  sinks: 0,
  entropyGroups: 'visual',
  normalize: 'all',
  agnosticScore: 'text-rows',
  gridRoot: 'segment',
  combine: 'mass',
  transition: 'per-event',
  decayWeight: 1,
} as const satisfies Partial<RetentiveKVOptions>;

/** RetentiveKV's plan for one layer: keep, and the evicted slots to absorb with their strengths and transitions. */
export function planRetentiveKV(ctx: PolicyContext, o: RetentiveKVOptions): Plan {
  const budget = checkBudget(ctx.budget, ctx.layer);
  const { view } = ctx;
  const lengths = Array.from({ length: view.kvHeads }, (_, h) => view.length(h));
  if (lengths.every((len) => len <= budget)) return null;
  const heads = lengths.map((len, h) => (len <= budget ? { keep: allSlots(len) } : planHead(ctx, h, len, budget, o)));
  const plan = planFromKeep(
    heads.map((hp) => hp.keep),
    { retain: heads.map((hp) => hp.retain ?? new Int32Array(0)) },
  );
  plan!.heads.forEach((hp, h) => {
    const src = heads[h]!;
    if (hp.retain && src.strength) hp.retainStrength = src.strength;
    if (hp.retain && src.decay && o.transition === 'per-token') hp.retainDecay = src.decay;
    hp.retainShare = src.share ?? 0;
  });
  return plan;
}

interface HeadChoice {
  keep: Int32Array;
  retain?: Int32Array;
  strength?: Float32Array;
  decay?: Float32Array;
  share?: number;
}

function planHead(ctx: PolicyContext, h: number, len: number, budget: number, o: RetentiveKVOptions): HeadChoice {
  const meta = ctx.view.meta(h);
  const modality = meta.modality.subarray(0, len);
  const accumulated = accumulatedScores(ctx, h, NAME);
  const alpha = retentionAttention(ctx, h, accumulated, meta, o);
  const group = entropyGroupsOf(modality, len, o.entropyGroups);
  const entropy = groupTokenEntropy(alpha, group, len);
  const useEntropy = o.entropy;
  const score = retentionScores(alpha, entropy, modality, group, len, { ...o, useEntropy });
  const keep = keepWithSinks(o.kernel > 1 ? pool1d(score, o.kernel, o.pooling) : score, len, budget, o);
  if (o.retrieval === 'off') return { keep };
  const retain = chooseAbsorbed(complement(len, keep), alpha, entropy, group, len, { ...o, useEntropy });
  return {
    keep,
    retain,
    strength: writeStrength(retain, accumulated, score, meta, len, o),
    decay: transitionDecay(retain, entropy, group, len, { ...o, useEntropy }),
    share: massShare(retain, accumulated, len),
  };
}

/**
 * The first min(sinks, budget) slots, the last min(window, budget − sinks) slots and the top
 * of the rest by score. score: [len]; returns ascending slot ids.
 */
export function keepWithSinks(score: Float32Array, len: number, budget: number, o: { sinks: number; window: number }): Int32Array {
  const sinks = Math.min(o.sinks, budget, len);
  if (sinks === 0) return keepTopWithRecent(score, len, budget, o.window);
  const forced = Float32Array.from(score, (x, j) => (j < sinks ? Infinity : x));
  return keepTopWithRecent(forced, len, budget, Math.min(o.window, budget - sinks));
}

/**
 * α [len]: this call's text-query attention. At a query-agnostic prefill (no question in the
 * prefix) the text rows are only `<s>` and any instruction before the media, so α is the
 * query-free score `agnosticScore` instead; and whenever no text row saw the slots, the
 * accumulated attention.
 */
function retentionAttention(ctx: PolicyContext, h: number, accumulated: Float32Array, meta: TokenMeta, o: RetentiveKVOptions): Float32Array {
  if (ctx.phase === 'prefill' && !ctx.queryAware && o.agnosticScore !== 'text-rows') {
    if (o.agnosticScore === 'accumulated') return accumulated;
    const len = accumulated.length;
    return meanReceived(accumulated, meta.position.subarray(0, len), ctx.stats.queries, meta.position[len - 1]!);
  }
  const text = slotStat(ctx, 'textColumn', h, NAME);
  let sum = 0;
  for (let j = 0; j < text.length; j++) sum += text[j]!;
  return sum > 0 ? text : accumulated;
}

/** Share of the head's accumulated attention that the absorbed slots held. */
function massShare(absorbed: Int32Array, accumulated: Float32Array, len: number): number {
  let all = 0;
  for (let j = 0; j < len; j++) all += Math.max(0, accumulated[j]!);
  let part = 0;
  for (const j of absorbed) part += Math.max(0, accumulated[j]!);
  return all > 0 ? Math.min(1, part / all) : 0;
}

function writeStrength(
  absorbed: Int32Array,
  accumulated: Float32Array,
  score: Float32Array,
  meta: TokenMeta,
  len: number,
  o: RetentiveKVOptions,
): Float32Array {
  let max = 0;
  for (let j = 0; j < len; j++) max = Math.max(max, accumulated[j]!);
  const base = Float32Array.from(absorbed, (j) => (o.absorbStrength === 'uniform' || !(max > 0) ? 1 : Math.max(0, accumulated[j]!) / max));
  if (o.states !== 'dual' || o.gridDecay === 1) return base;
  const g = gridDecay(absorbed, score, meta, len, o.gridDecay, o.gridRoot);
  return base.map((a, i) => a * g[i]!);
}

export const retentiveKV = definePolicy({
  name: NAME,
  title: 'RetentiveKV',
  kind: 'retention',
  paper: { title: 'RetentiveKV: State-Space Memory for Uncertainty-Aware Multimodal KV Cache Eviction', arxiv: '2605.04075', venue: 'ACL 2026 Findings' },
  summary:
    'Keeps sink tokens, a recent window and the top slots by an entropy-guided retention score (one entropy group per modality); absorbs high-entropy evicted slots one by one, with an entropy-set decay, into a constant-size visual/recall state added back through a query-entropy gate.',
  options: retentiveKVOptions,
  create(options, env) {
    const instance = { name: NAME, needs: { textColumn: true, cumulative: true, rowEntropy: true }, plan: (ctx: PolicyContext) => planRetentiveKV(ctx, options) };
    if (options.retrieval === 'off') return instance; // ablation: no state, no readout
    const retention = new StateSpaceMemory({
      numLayers: env.numLayers,
      kvHeads: env.kvHeads,
      headDim: env.headDim,
      states: options.states,
      featureMap: options.featureMap,
      retrieval: options.retrieval,
      combine: options.combine,
      transition: options.transition,
      gateWeight: options.gateWeight,
      gateBias: options.gateBias,
      decayWeight: options.entropy ? options.decayWeight : 0,
      decayBias: options.decayBias,
    });
    return { ...instance, retention };
  },
});
