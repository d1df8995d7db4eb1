/**
 * FlowMM: Cross-Modal Information Flow Guided KV Cache Merging for Efficient Multimodal
 * Context Inference — arXiv 2511.05534.
 * Once after prefill: per layer, the cross-modal interaction ratio ρ chooses intra-modal
 * (ρ < θ) or cross-modal (ρ ≥ θ) merging; per KV head, the top-B slots by proxy-token
 * importance are pivots and every other slot is merged into its most key-similar pivot that is
 * not "sensitive" (importance above τ), restricted to its own modality in intra-modal layers.
 *
 * Ours where the paper is silent [INF], each an option: proxies = the question (the text after
 * the media; old default: the last nProxy = 32 prompt tokens, which on a 6–9-word question are
 * mostly media slots and fill most of a small budget), proxies always kept, τ as a quantile
 * over the non-proxy pivots (protect the top 10 % of them) or absolute, merge operator pivotal
 * average (LOOK-M), unmatched non-pivots dropped, ρ online from this prefill without the text
 * before the media (old: with it, so ρ measured the `<s>` sink; or a fixed per-layer table
 * from offline calibration), θ = 0.2 (paper's best range 0.2–0.3).
 * Ablations: flowGuidance off (every layer uses `unguidedStrategy`, default cross-modal),
 * sensitivityMatching off (every pivot may receive merges), merge off (pivots kept, the rest
 * evicted: "pivots, no merge"). Prefill only: null during decode.
 */
import { z } from 'zod';
import type { StatNeeds } from '../../attention/stats.js';
import { checkBudget } from '../parts/compose.js';
import { MERGE_VARIANTS } from '../parts/merge.js';
import { planFromKeep } from '../parts/plan.js';
import { slotStat } from '../parts/scores.js';
import { allSlots, complement } from '../parts/select.js';
import { definePolicy } from '../registry.js';
import type { MergeOp, Plan, PolicyContext, PolicyInstance } from '../../cache/policy-api.js';
import { flowTotals } from '../multimodal/modality-groups.js';
import { addLeadingTextMass, interactionRatio, layerStrategy, leadingTextMask, type LeadingTextMass, type MergeStrategy } from './flowmm-flow.js';
import { mergeIntoPivots, questionLength, selectPivots, sensitivityThreshold } from './flowmm-pivots.js';

const NAME = 'flowmm';

export const flowMMOptions = z.object({
  theta: z.number().min(0).max(1).default(0.2).describe('θ: a layer merges cross-modally when its interaction ratio ρ ≥ θ (paper: best 0.2–0.3)'),
  proxies: z.enum(['question', 'window']).default('question').describe('proxy tokens whose attention gives importance I: the text after the last media slot (question, as many as its tokens) or the last nProxy prompt tokens (window) [INF]'),
  nProxy: z.number().int().min(1).default(32).describe('proxy count in window mode, and the fallback when the prompt has no text after its media [INF: not reported]'),
  keepProxy: z.boolean().default(true).describe('the proxy tokens are always pivots [INF]'),
  tauMode: z.enum(['quantile', 'absolute']).default('quantile').describe('τ as a quantile of I over the pivots, or an absolute value of I [INF]'),
  tau: z.number().min(0).default(0.1).describe('quantile mode: fraction of pivots (highest I) protected from merges; absolute mode: threshold on I [INF]'),
  tauScope: z.enum(['non-proxy', 'all-pivots']).default('non-proxy').describe('pivots the τ quantile runs over: those that are not proxies, or all [INF]'),
  flowGuidance: z.boolean().default(true).describe('choose intra/cross-modal merging per layer from ρ; off = every layer uses unguidedStrategy (ablation)'),
  unguidedStrategy: z.enum(['cross', 'intra']).default('cross').describe('merge strategy of every layer when flowGuidance is off [INF]'),
  sensitivityMatching: z.boolean().default(true).describe('forbid merges into sensitive pivots (I > τ); off = any pivot (ablation)'),
  merge: z.boolean().default(true).describe('merge non-pivots into pivots; off = keep the pivots and evict the rest ("pivots, no merge" ablation)'),
  mergeVariant: z.enum(MERGE_VARIANTS).default('pivotal').describe('merge operator: pivotal average (LOOK-M), average, or similarity-weighted [INF]'),
  crossPairs: z.enum(['text-media', 'all-pairs']).default('text-media').describe('which modality pairs count as cross-modal mass in ρ [INF]'),
  leadingText: z.enum(['exclude', 'include']).default('exclude').describe('leave the text before the first media slot (<s>, system text) out of ρ, or count it as text [INF]'),
  rho: z.array(z.number().min(0).max(1)).default([]).describe('fixed per-layer ρ from offline calibration; empty = online from this prefill [INF]'),
});
export type FlowMMOptions = z.output<typeof flowMMOptions>;

/** The layer's ρ (NaN when flow guidance is off) and merge strategy. */
export function flowMMLayerDecision(ctx: PolicyContext, o: FlowMMOptions): { rho: number; strategy: MergeStrategy } {
  if (!o.flowGuidance) return { rho: Number.NaN, strategy: o.unguidedStrategy };
  let rho: number;
  if (o.rho.length > 0) {
    if (ctx.layer >= o.rho.length) throw new RangeError(`policies.${NAME}.rho has ${o.rho.length} entries; layer ${ctx.layer} needs one per layer (${ctx.numLayers})`);
    rho = o.rho[ctx.layer]!;
  } else {
    const heads = Array.from({ length: ctx.view.kvHeads }, (_, h) => h);
    const leading: LeadingTextMass = { fromMedia: 0, total: 0 };
    if (o.leadingText === 'exclude') {
      for (const h of heads) {
        const len = ctx.view.length(h);
        addLeadingTextMass(slotStat(ctx, 'cumulative', h, NAME), slotStat(ctx, 'textColumn', h, NAME), leadingTextMask(ctx.view.meta(h), len), leading);
      }
    }
    rho = interactionRatio(flowTotals(ctx.stats, heads, NAME), o.crossPairs, leading);
  }
  return { rho, strategy: layerStrategy(rho, o.theta) };
}

export interface FlowMMLayerReport {
  rho: number;
  strategy: MergeStrategy;
  /** Per KV head: non-pivots dropped for lack of an admissible pivot. */
  unmatched: number[];
  /** Per KV head: pivots protected as sensitive. */
  sensitive: number[];
  /** Per KV head: proxy tokens used (the question length, or nProxy as a fallback). */
  proxies: number[];
}

/** FlowMM's plan for one layer, with what it decided (null plan in decode / within budget). */
export function planFlowMM(ctx: PolicyContext, o: FlowMMOptions): { plan: Plan; report: FlowMMLayerReport | null } {
  if (ctx.phase !== 'prefill') return { plan: null, report: null };
  const budget = checkBudget(ctx.budget, ctx.layer);
  const { view } = ctx;
  const lengths = Array.from({ length: view.kvHeads }, (_, h) => view.length(h));
  if (lengths.every((len) => len <= budget)) return { plan: null, report: null };
  const { rho, strategy } = flowMMLayerDecision(ctx, o);
  const report: FlowMMLayerReport = { rho, strategy, unmatched: [], sensitive: [], proxies: [] };
  const keep: Int32Array[] = [];
  const merges: MergeOp[][] = [];
  for (let h = 0; h < view.kvHeads; h++) {
    const len = lengths[h]!;
    if (len <= budget) {
      keep.push(allSlots(len));
      merges.push([]);
      report.unmatched.push(0);
      report.sensitive.push(0);
      report.proxies.push(0);
      continue;
    }
    const meta = view.meta(h);
    const question = o.proxies === 'question' ? questionLength(meta, len) : 0;
    const nProxy = question > 0 ? question : o.nProxy;
    const importance = slotStat(ctx, question > 0 ? 'textColumn' : 'window', h, NAME);
    const pivots = selectPivots(importance, len, budget, nProxy, o.keepProxy);
    report.proxies.push(nProxy);
    keep.push(pivots);
    if (!o.merge) {
      merges.push([]);
      report.unmatched.push(0);
      report.sensitive.push(0);
      continue;
    }
    const protectedProxies = o.tauScope === 'non-proxy' && o.keepProxy ? nProxy : 0;
    const tau = o.sensitivityMatching ? sensitivityThreshold(importance, pivots, o.tauMode, o.tau, protectedProxies, len) : Infinity;
    const eligible = pivots.filter((j) => importance[j]! <= tau);
    const r = mergeIntoPivots(view.keys(h), view.headDim, complement(len, pivots), eligible, meta.modality, strategy, o.mergeVariant, meta.weight);
    merges.push(r.merges);
    report.unmatched.push(r.unmatched);
    report.sensitive.push(pivots.length - eligible.length);
  }
  return { plan: planFromKeep(keep, { merges }), report };
}

/** The statistics FlowMM reads with these options. */
export function flowMMNeeds(o: FlowMMOptions): StatNeeds {
  const onlineRho = o.flowGuidance && o.rho.length === 0;
  const leading = onlineRho && o.leadingText === 'exclude';
  return { window: o.nProxy, flows: onlineRho, cumulative: leading, textColumn: leading || o.proxies === 'question' };
}

/** A bound FlowMM policy; `reports()` gives what the last prefill decided per layer. */
export interface FlowMMInstance extends PolicyInstance {
  reports(): (FlowMMLayerReport | null)[];
}

export const flowMM = definePolicy({
  name: NAME,
  title: 'FlowMM',
  kind: 'merging',
  paper: { title: 'FlowMM: Cross-Modal Information Flow Guided KV Cache Merging for Efficient Multimodal Context Inference', arxiv: '2511.05534' },
  summary: 'Per layer, cross-modal attention share ρ picks intra- or cross-modal merging; non-pivot slots merge into their most key-similar non-sensitive pivot (top-B by proxy-token attention).',
  options: flowMMOptions,
  checkForModel: (o, m) =>
    o.rho.length === 0 || o.rho.length === m.numLayers ? [] : [`rho: has ${o.rho.length} entries; expected none (online ρ) or one per layer (${m.numLayers}), written as a list inside a list so it is not swept: rho: [[0.2, 0.3, ...]]`],
  create(options): FlowMMInstance {
    if (options.tauMode === 'quantile' && options.tau > 1) {
      throw new RangeError(`policies.${NAME}.tau is ${options.tau}; in quantile mode it is the fraction of pivots protected, in [0, 1]`);
    }
    const reports: (FlowMMLayerReport | null)[] = [];
    return {
      name: NAME,
      needs: flowMMNeeds(options),
      plan: (ctx) => {
        const { plan, report } = planFlowMM(ctx, options);
        if (report) reports[ctx.layer] = report;
        return plan;
      },
      reports: () => reports.slice(),
    };
  },
});
