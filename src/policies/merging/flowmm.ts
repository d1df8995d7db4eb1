/**
 * FlowMM: Cross-Modal Information Flow Guided KV Cache Merging for Efficient Multimodal
 * Context Inference — arXiv 2511.05534.
 * Once after prefill: per layer, the cross-modal interaction ratio ρ chooses intra-modal
 * (ρ < θ) or cross-modal (ρ ≥ θ) merging; per KV head, the top-B slots by proxy-token
 * importance are pivots and every other slot is merged into its most key-similar pivot that is
 * not "sensitive" (importance above τ), restricted to its own modality in intra-modal layers.
 *
 * Ours where the paper is silent [INF], each an option: nProxy = 32 (not reported), proxies
 * always kept, τ as a quantile (protect the top 10 % of pivots) or absolute, merge operator
 * pivotal average (LOOK-M), unmatched non-pivots dropped, ρ online from this prefill (or a
 * fixed per-layer table from offline calibration), θ = 0.2 (paper's best range 0.2–0.3).
 * Ablations: flowGuidance off (every layer uses `unguidedStrategy`, default cross-modal),
 * sensitivityMatching off (every pivot may receive merges). Prefill only: null during decode.
 */
import { z } from 'zod';
import { checkBudget } from '../parts/compose.js';
import { MERGE_VARIANTS } from '../parts/merge.js';
import { planFromKeep } from '../parts/plan.js';
import { slotStat } from '../parts/scores.js';
import { allSlots, complement } from '../parts/select.js';
import { definePolicy } from '../registry.js';
import type { MergeOp, Plan, PolicyContext, PolicyInstance } from '../../cache/policy-api.js';
import { flowTotals } from '../multimodal/modality-groups.js';
import { interactionRatio, layerStrategy, type MergeStrategy } from './flowmm-flow.js';
import { mergeIntoPivots, selectPivots, sensitivityThreshold } from './flowmm-pivots.js';

const NAME = 'flowmm';

export const flowMMOptions = z.object({
  theta: z.number().min(0).max(1).default(0.2).describe('θ: a layer merges cross-modally when its interaction ratio ρ ≥ θ (paper: best 0.2–0.3)'),
  nProxy: z.number().int().min(1).default(32).describe('proxy tokens at the end of the prompt whose attention gives importance I [INF: not reported]'),
  keepProxy: z.boolean().default(true).describe('the proxy tokens are always pivots [INF]'),
  tauMode: z.enum(['quantile', 'absolute']).default('quantile').describe('τ as a quantile of I over the pivots, or an absolute value of I [INF]'),
  tau: z.number().min(0).default(0.1).describe('quantile mode: fraction of pivots (highest I) protected from merges; absolute mode: threshold on I [INF]'),
  flowGuidance: z.boolean().default(true).describe('choose intra/cross-modal merging per layer from ρ; off = every layer uses unguidedStrategy (ablation)'),
  unguidedStrategy: z.enum(['cross', 'intra']).default('cross').describe('merge strategy of every layer when flowGuidance is off [INF]'),
  sensitivityMatching: z.boolean().default(true).describe('forbid merges into sensitive pivots (I > τ); off = any pivot (ablation)'),
  mergeVariant: z.enum(MERGE_VARIANTS).default('pivotal').describe('merge operator: pivotal average (LOOK-M), average, or similarity-weighted [INF]'),
  crossPairs: z.enum(['text-media', 'all-pairs']).default('text-media').describe('which modality pairs count as cross-modal mass in ρ [INF]'),
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
    rho = interactionRatio(flowTotals(ctx.stats, heads, NAME), o.crossPairs);
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
}

/** FlowMM's plan for one layer, with what it decided (null plan in decode / within budget). */
export function planFlowMM(ctx: PolicyContext, o: FlowMMOptions): { plan: Plan; report: FlowMMLayerReport | null } {
  if (ctx.phase !== 'prefill') return { plan: null, report: null };
  const budget = checkBudget(ctx.budget, ctx.layer);
  const { view } = ctx;
  const lengths = Array.from({ length: view.kvHeads }, (_, h) => view.length(h));
  if (lengths.every((len) => len <= budget)) return { plan: null, report: null };
  const { rho, strategy } = flowMMLayerDecision(ctx, o);
  const report: FlowMMLayerReport = { rho, strategy, unmatched: [], sensitive: [] };
  const keep: Int32Array[] = [];
  const merges: MergeOp[][] = [];
  for (let h = 0; h < view.kvHeads; h++) {
    const len = lengths[h]!;
    if (len <= budget) {
      keep.push(allSlots(len));
      merges.push([]);
      report.unmatched.push(0);
      report.sensitive.push(0);
      continue;
    }
    const importance = slotStat(ctx, 'window', h, NAME);
    const pivots = selectPivots(importance, len, budget, o.nProxy, o.keepProxy);
    const tau = o.sensitivityMatching ? sensitivityThreshold(importance, pivots, o.tauMode, o.tau) : Infinity;
    const eligible = pivots.filter((j) => importance[j]! <= tau);
    const meta = view.meta(h);
    const r = mergeIntoPivots(view.keys(h), view.headDim, complement(len, pivots), eligible, meta.modality, strategy, o.mergeVariant, meta.weight);
    keep.push(pivots);
    merges.push(r.merges);
    report.unmatched.push(r.unmatched);
    report.sensitive.push(pivots.length - eligible.length);
  }
  return { plan: planFromKeep(keep, { merges }), report };
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
      needs: { window: options.nProxy, flows: options.flowGuidance && options.rho.length === 0 },
      plan: (ctx) => {
        const { plan, report } = planFlowMM(ctx, options);
        if (report) reports[ctx.layer] = report;
        return plan;
      },
      reports: () => reports.slice(),
    };
  },
});
