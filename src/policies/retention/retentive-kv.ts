/**
 * RetentiveKV: State-Space Memory for Uncertainty-Aware Multimodal KV Cache Eviction —
 * arXiv 2605.04075 (ACL 2026 Findings).
 * Keeps a recent window plus the top slots by the entropy-guided retention score R; evicted
 * slots with high entropy are absorbed into a constant-size state-space memory (visual state
 * with grid-aware write decay, recall state for the rest) that a query-gated readout adds to
 * every later attention output, so evicted information can be reactivated while decoding.
 *
 * Ours where the paper is silent [INF] (options below; scores in ./retentive-scores.ts, state
 * in src/ssm/): window 32, λ = 0.5, min-max mixing, absorption gate q = 0.5, write strength =
 * accumulated attention / its head maximum, γ_s = 0.9, φ = elu+1, gate w = 1, b = 0, decay
 * r = σ(H̄ + 0) per absorb event, and the 'mass' readout (1−γm)·out + γm·O_S, m = attention
 * mass the absorbed slots held: the paper's additive out + γ·O_S (combine 'additive') adds a
 * whole second attention output when γ = σ(H̄) ≈ 1 and made stories260K's next-token KL 8×
 * worse than no readout at all. Runs at prefill and, with an 'every' or
 * 'over-budget' schedule, at decode (each step's evictions are absorbed).
 * Not in the paper: `kernel` > 1 pools R over neighbouring slots before the top-k (SnapKV's
 * clustering), since evidence in audio-video clips comes in runs of adjacent tokens; default 1.
 * Ablations: retrieval 'off' (no state, no readout: "w/o query retrieval"), states 'unified'
 * (one state, no grid decay), entropy false (R = α, every evicted slot absorbed, constant decay).
 */
import { z } from 'zod';
import type { TokenMeta } from '../../cache/token-meta.js';
import { FEATURE_MAPS } from '../../ssm/feature-map.js';
import { StateSpaceMemory } from '../../ssm/state-memory.js';
import { checkBudget } from '../parts/compose.js';
import { kernelOption, poolingOption } from '../parts/options.js';
import { planFromKeep } from '../parts/plan.js';
import { pool1d } from '../parts/pool.js';
import { accumulatedScores, slotStat } from '../parts/scores.js';
import { allSlots, complement, keepTopWithRecent } from '../parts/select.js';
import { definePolicy } from '../registry.js';
import type { Plan, PolicyContext } from '../../cache/policy-api.js';
import { chooseAbsorbed, gridDecay, groupTokenEntropy, retentionScores } from './retentive-scores.js';

const NAME = 'retentivekv';

export const retentiveKVOptions = z.object({
  window: z.number().int().min(0).default(32).describe('recent slots always kept exactly (clamped to the budget) [INF: not reported]'),
  kernel: kernelOption(1).describe('pooling of R over neighbouring slots before the top-k, as SnapKV pools its scores; 1 = none, as published [ours, not the paper]'),
  pooling: poolingOption('avg'),
  lambda: z.number().min(0).max(1).default(0.5).describe('R = λ·attention + (1−λ)·entropy, both min-max normalised per head [INF]'),
  entropy: z.boolean().default(true).describe('entropy guidance of score, absorption and decay; off = R = attention, absorb all, constant decay (ablation)'),
  entropyMode: z.enum(['token', 'distribution']).default('token').describe("token: −p log p per slot; distribution: R = attention and the group's entropy sets the absorbed fraction [INF]"),
  textEntropy: z.enum(['zero', 'analogue']).default('zero').describe('entropy of non-visual slots in R: 0, or −p log p over the non-visual slots [INF]'),
  absorbQuantile: z.number().min(0).max(1).default(0.5).describe('absorb evicted slots whose entropy ≥ this quantile within their group; 0 = all [INF]'),
  absorbStrength: z.enum(['attention', 'uniform']).default('attention').describe('write strength: accumulated attention / head max, or 1 [INF]'),
  gridDecay: z.number().gt(0).max(1).default(0.9).describe('γ_s: visual writes scale by γ_s^(Manhattan distance to the root patch); 1 = off [INF]'),
  states: z.enum(['dual', 'unified']).default('dual').describe('dual: visual state + recall state; unified: one state, no grid decay (ablation)'),
  retrieval: z.enum(['gated', 'ungated', 'off']).default('gated').describe('readout gate γ = σ(w·H̄ + b), γ = 1, or no state at all (ablation "w/o query retrieval")'),
  combine: z.enum(['additive', 'convex', 'mass']).default('mass').describe('out + γ·O_S (paper), (1−γ)·out + γ·O_S, or mass: (1−γm)·out + γm·O_S with m the attention mass the absorbed slots held [INF]'),
  featureMap: z.enum(FEATURE_MAPS).default('elu1').describe('linear-attention feature map φ of keys and queries [INF]'),
  gateWeight: z.number().default(1).describe('w of the readout gate (fixed, not trained) [INF]'),
  gateBias: z.number().default(0).describe('b of the readout gate [INF]'),
  decayWeight: z.number().default(1).describe('state decay per absorb event r = σ(decayWeight·H̄ + decayBias), H̄ = mean row entropy (nats) [INF]'),
  decayBias: z.number().default(0).describe('bias of the state decay [INF]'),
});
export type RetentiveKVOptions = z.output<typeof retentiveKVOptions>;

/** RetentiveKV's plan for one layer: keep, and the evicted slots to absorb with their strengths. */
export function planRetentiveKV(ctx: PolicyContext, o: RetentiveKVOptions): Plan {
  const budget = checkBudget(ctx.budget, ctx.layer);
  const { view } = ctx;
  const lengths = Array.from({ length: view.kvHeads }, (_, h) => view.length(h));
  if (lengths.every((len) => len <= budget)) return null;
  const keep: Int32Array[] = [];
  const retain: Int32Array[] = [];
  const strengths: Float32Array[] = [];
  const shares: number[] = [];
  for (let h = 0; h < view.kvHeads; h++) {
    const len = lengths[h]!;
    if (len <= budget) {
      keep.push(allSlots(len));
      retain.push(new Int32Array(0));
      strengths.push(new Float32Array(0));
      continue;
    }
    const meta = view.meta(h);
    const modality = meta.modality.subarray(0, len);
    const accumulated = accumulatedScores(ctx, h, NAME);
    const alpha = queryAttention(ctx, h, accumulated);
    const entropy = groupTokenEntropy(alpha, modality, len);
    const score = retentionScores(alpha, entropy, modality, len, { ...o, useEntropy: o.entropy });
    const kept = keepTopWithRecent(o.kernel > 1 ? pool1d(score, o.kernel, o.pooling) : score, len, budget, o.window);
    keep.push(kept);
    if (o.retrieval === 'off') {
      retain.push(new Int32Array(0));
      strengths.push(new Float32Array(0));
      continue;
    }
    const absorbed = chooseAbsorbed(complement(len, kept), alpha, entropy, modality, len, { ...o, useEntropy: o.entropy });
    retain.push(absorbed);
    strengths.push(writeStrength(absorbed, accumulated, score, meta, len, o));
    shares[h] = massShare(absorbed, accumulated, len);
  }
  const plan = planFromKeep(keep, { retain });
  plan!.heads.forEach((hp, h) => {
    if (hp.retain) hp.retainStrength = strengths[h]!;
    hp.retainShare = shares[h] ?? 0;
  });
  return plan;
}

/** α: this call's text-query attention; the accumulated attention when no text query saw the slots. */
function queryAttention(ctx: PolicyContext, h: number, accumulated: Float32Array): Float32Array {
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
  const g = gridDecay(absorbed, score, meta, len, o.gridDecay);
  return base.map((a, i) => a * g[i]!);
}

export const retentiveKV = definePolicy({
  name: NAME,
  title: 'RetentiveKV',
  kind: 'retention',
  paper: { title: 'RetentiveKV: State-Space Memory for Uncertainty-Aware Multimodal KV Cache Eviction', arxiv: '2605.04075', venue: 'ACL 2026 Findings' },
  summary: 'Keeps a recent window and the top slots by an entropy-guided retention score; absorbs high-entropy evicted slots into a constant-size visual/recall state read back through a query-entropy gate.',
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
      gateWeight: options.gateWeight,
      gateBias: options.gateBias,
      decayWeight: options.entropy ? options.decayWeight : 0,
      decayBias: options.decayBias,
    });
    return { ...instance, retention };
  },
});
