/**
 * KVMerger — "Model Tells You Where to Merge: Adaptive KV Cache Merging for LLMs on
 * Long-Context Tasks" (Wang et al., arXiv 2407.08454). Merging sets are runs of *consecutive*
 * tokens whose keys are cosine-similar to their neighbour; each set collapses into its pivot
 * (highest accumulated attention) by a Gaussian-kernel weighted average centred on the pivot.
 * Ours [INF]: a recent window (share of the budget) is exempt; among older slots the strongest
 * links ≥ threshold are merged first, only as many as the budget needs; if the runs still
 * exceed the budget, whole runs with the lowest pivot score are evicted (H2O-style). Gaussian
 * weights g_i = exp(−‖k_i − k_p‖² / 2σ²) with σ = sigmaScale × RMS distance of the run to its
 * pivot; coefficients are g_i × slot weight, the pivot's own coefficient its weight (g = 1).
 */
import { z } from 'zod';
import { definePolicy } from '../registry.js';
import type { MergeOp, PolicyContext } from '../../cache/policy-api.js';
import { planPerHeadWithMerges } from '../parts/compose.js';
import { recentShareOption, recentSlots } from '../parts/options.js';
import { accumulatedScores } from '../parts/scores.js';
import { adjacentCosine } from '../parts/similarity.js';
import { lastN, topK, unionSorted } from '../parts/select.js';

export const kvMergerOptions = z.object({
  threshold: z.number().min(-1).max(1).default(0.8).describe('cosine between neighbouring keys above which they may join one merging set'),
  recentShare: recentShareOption(0.25),
  sigmaScale: z.number().positive().default(1).describe('Gaussian kernel width as a multiple of the run’s RMS key distance to its pivot'),
});
type KVMergerOptions = z.output<typeof kvMergerOptions>;

/**
 * Runs over slots 0..n-1 after merging up to `maxLinks` of the strongest neighbour links with
 * cosine ≥ threshold. Returns [start, end) pairs in order.
 */
export function similarRuns(adjacent: Float32Array, n: number, threshold: number, maxLinks: number): [number, number][] {
  const links = Array.from({ length: Math.max(0, n - 1) }, (_, i) => i)
    .filter((i) => adjacent[i]! >= threshold)
    .sort((a, b) => adjacent[b]! - adjacent[a]! || a - b)
    .slice(0, Math.max(0, maxLinks));
  const joined = new Uint8Array(Math.max(0, n - 1));
  for (const i of links) joined[i] = 1;
  const runs: [number, number][] = [];
  let start = 0;
  for (let i = 0; i < n; i++) {
    if (i === n - 1 || !joined[i]) {
      runs.push([start, i + 1]);
      start = i + 1;
    }
  }
  return runs;
}

function gaussianMerge(keys: Float32Array, d: number, start: number, end: number, pivot: number, weight: Float32Array, sigmaScale: number): MergeOp | null {
  if (end - start < 2) return null;
  const from: number[] = [];
  const dist2: number[] = [];
  for (let i = start; i < end; i++) {
    if (i === pivot) continue;
    let s = 0;
    for (let j = 0; j < d; j++) s += (keys[i * d + j]! - keys[pivot * d + j]!) ** 2;
    from.push(i);
    dist2.push(s);
  }
  const sigma2 = sigmaScale ** 2 * (dist2.reduce((a, b) => a + b, 0) / dist2.length);
  const coef = Float32Array.from(from, (e, i) => weight[e]! * (sigma2 > 0 ? Math.exp(-dist2[i]! / (2 * sigma2)) : 1));
  return { into: pivot, from: Int32Array.from(from), coef, selfCoef: weight[pivot]! };
}

function kvMergerHead(ctx: PolicyContext, h: number, len: number, o: KVMergerOptions) {
  const d = ctx.view.headDim;
  const r = recentSlots(ctx.budget, o.recentShare);
  const old = len - r;
  const need = ctx.budget - r;
  const keys = ctx.view.keys(h).subarray(0, len * d);
  const scores = accumulatedScores(ctx, h, 'kvmerger');
  const runs = similarRuns(adjacentCosine(keys, d, old), old, o.threshold, old - need);
  const pivots = runs.map(([s, e]) => {
    let p = s;
    for (let i = s + 1; i < e; i++) if (scores[i]! > scores[p]!) p = i;
    return p;
  });
  const chosen = topK(pivots.map((p) => scores[p]!), need);
  const merges: MergeOp[] = [];
  for (const u of chosen) {
    const op = gaussianMerge(keys, d, runs[u]![0], runs[u]![1], pivots[u]!, ctx.view.meta(h).weight, o.sigmaScale);
    if (op) merges.push(op);
  }
  return { keep: unionSorted(Int32Array.from(chosen, (u) => pivots[u]!), lastN(len, r)), merges };
}

export const kvMerger = definePolicy({
  name: 'kvmerger',
  title: 'KVMerger',
  kind: 'merging',
  paper: { title: 'Model Tells You Where to Merge: Adaptive KV Cache Merging for LLMs on Long-Context Tasks', arxiv: '2407.08454' },
  summary: 'Merges runs of consecutive tokens with similar keys into their most-attended token with Gaussian weights; evicts whole runs only if still over budget.',
  options: kvMergerOptions,
  create(o) {
    return {
      name: 'kvmerger',
      needs: { cumulative: true },
      plan: (ctx) => planPerHeadWithMerges(ctx, (h, len) => kvMergerHead(ctx, h, len, o)),
    };
  },
});
