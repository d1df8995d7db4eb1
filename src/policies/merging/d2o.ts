/**
 * D2O — "D2O: Dynamic Discriminative Operations for Efficient Long-Context Inference of Large
 * Language Models" (Wan et al., ICLR 2025, arXiv 2406.13035). Layer level: layers with dense
 * attention get larger budgets. Token level: H2O heavy + recent selection; an evicted token
 * whose best key cosine to a kept token reaches an EMA threshold is merged into it, else dropped.
 * Ours [INF]: density = normalised entropy of each head's accumulated column mass after
 * prefill, averaged over heads; budgets b_ℓ = base·((1 − mix) + mix·L·d_ℓ/Σd). The threshold
 * per (layer, head) is τ ← β·τ + (1 − β)·mean(best similarity) (first call: the mean); merge
 * weights are exp-similarity: x_t ← (e·x_t + Σ exp(s_i)·x_i)/(e + Σ exp(s_i)) — the target's
 * self-similarity is 1 — scaled by slot weights.
 */
import { z } from 'zod';
import { definePolicy } from '../registry.js';
import type { MergeOp, PolicyContext } from '../../cache/policy-api.js';
import { weightedLayerBudgets } from '../parts/allocators.js';
import { planPerHeadWithMerges } from '../parts/compose.js';
import { normalizedEntropy } from '../parts/entropy.js';
import { nearestBuckets } from '../parts/merge.js';
import { recentShareOption, recentSlots } from '../parts/options.js';
import { accumulatedScores } from '../parts/scores.js';
import { complement, keepTopWithRecent } from '../parts/select.js';

export const d2oOptions = z.object({
  recentShare: recentShareOption(0.5),
  emaMomentum: z.number().min(0).max(1).default(0.9).describe('β of the similarity threshold τ ← β·τ + (1 − β)·mean best similarity'),
  layerMix: z.number().min(0).max(1).default(0.5).describe('0 = uniform layer budgets, 1 = fully proportional to attention density'),
});
type D2OOptions = z.output<typeof d2oOptions>;

/** Attention density of one layer: mean over heads of the normalised entropy of column mass. */
export function attentionDensity(cumulative: readonly Float32Array[] | undefined): number {
  if (!cumulative || cumulative.length === 0) return 0;
  return cumulative.reduce((s, c) => s + normalizedEntropy(c), 0) / cumulative.length;
}

function d2oHead(ctx: PolicyContext, h: number, len: number, o: D2OOptions, thresholds: Map<string, number>) {
  const scores = accumulatedScores(ctx, h, 'd2o');
  const keep = keepTopWithRecent(scores, len, ctx.budget, recentSlots(ctx.budget, o.recentShare));
  const evicted = complement(len, keep);
  const keys = ctx.view.keys(h).subarray(0, len * ctx.view.headDim);
  const { buckets, similarity } = nearestBuckets(keys, ctx.view.headDim, evicted, keep);
  let mean = 0;
  let n = 0;
  for (const s of similarity) if (s > -Infinity) (mean += s), n++;
  if (n === 0) return { keep };
  mean /= n;
  const key = `${ctx.layer}:${h}`;
  const prev = thresholds.get(key);
  const tau = prev === undefined ? mean : o.emaMomentum * prev + (1 - o.emaMomentum) * mean;
  thresholds.set(key, tau);
  const w = ctx.view.meta(h).weight;
  const merges: MergeOp[] = [];
  for (const b of buckets) {
    const from = b.from.filter((_, i) => b.similarity[i]! >= tau);
    if (from.length === 0) continue;
    const sims = b.similarity.filter((s) => s >= tau);
    merges.push({ into: b.into, from: Int32Array.from(from), coef: Float32Array.from(from, (e, i) => w[e]! * Math.exp(sims[i]!)), selfCoef: w[b.into]! * Math.E });
  }
  return { keep, merges };
}

export const d2o = definePolicy({
  name: 'd2o',
  title: 'D2O',
  kind: 'merging',
  paper: { title: 'D2O: Dynamic Discriminative Operations for Efficient Long-Context Inference of Large Language Models', arxiv: '2406.13035', venue: 'ICLR 2025' },
  summary: 'Layer budgets from attention density; H2O selection whose evicted tokens are merged into similar kept ones when above an EMA similarity threshold.',
  options: d2oOptions,
  create(o) {
    const thresholds = new Map<string, number>();
    return {
      name: 'd2o',
      needs: { cumulative: true },
      allocateLayers: (a) => weightedLayerBudgets(a.stats.map((s) => attentionDensity(s.cumulative)), a.base, o.layerMix),
      plan: (ctx) => planPerHeadWithMerges(ctx, (h, len) => d2oHead(ctx, h, len, o, thresholds)),
    };
  },
});
