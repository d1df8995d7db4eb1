/**
 * CaM — "CaM: Cache Merging for Memory-efficient LLMs Inference" (Zhang et al., ICML 2024;
 * code zyxxmu/cam). Sink + recent eviction, but a token leaving the window is merged: with
 * probability min(1, a_e / mean(a_recent)) its value, divided by the merge span m, is added to
 * the values of the next m tokens. Keys are not merged.
 * Ours: a_e is the accumulated attention (option: the last query's); the Bernoulli draw comes
 * from ctx.random in slot order; the coefficient is mask/m (mask ∈ {0, 1}, as the code); when
 * many tokens leave at once (after prefill), "the next m tokens" are the next m *kept* slots
 * after e, so no value mass is lost to tokens that leave in the same plan.
 */
import { z } from 'zod';
import { definePolicy } from '../registry.js';
import type { MergeOp, PolicyContext } from '../../cache/policy-api.js';
import { planPerHeadWithMerges } from '../parts/compose.js';
import { accumulatedScores, slotStat } from '../parts/scores.js';
import { complement, firstN, lastN, unionSorted } from '../parts/select.js';

export const camOptions = z.object({
  sinks: z.number().int().min(0).default(4).describe('leading slots always kept (start tokens)'),
  mergeSpan: z.number().int().min(1).default(32).describe('m: an evicted value is spread over the next m kept slots, each getting value/m'),
  score: z.enum(['accumulated', 'last-query']).default('accumulated').describe('attention a_e that sets the merge probability'),
});
type CaMOptions = z.output<typeof camOptions>;

/** CaM's value merges for one head: evicted slots (ascending) into the next m kept slots. */
export function camMerges(scores: ArrayLike<number>, keep: Int32Array, evicted: Int32Array, recent: Int32Array, m: number, random: () => number): MergeOp[] {
  let recentMean = 0;
  for (const i of recent) recentMean += scores[i]!;
  recentMean /= Math.max(1, recent.length);
  const into = new Map<number, { from: number[]; coef: number[] }>();
  let k = 0; // first kept index after the current evicted slot
  for (const e of evicted) {
    while (k < keep.length && keep[k]! < e) k++;
    const p = recentMean > 0 ? Math.min(1, scores[e]! / recentMean) : 1;
    if (!(random() < p)) continue;
    for (let t = k; t < Math.min(keep.length, k + m); t++) {
      let b = into.get(keep[t]!);
      if (!b) into.set(keep[t]!, (b = { from: [], coef: [] }));
      b.from.push(e);
      b.coef.push(1 / m);
    }
  }
  return [...into.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([t, b]) => ({ into: t, from: Int32Array.from(b.from), coef: Float32Array.from(b.coef), selfCoef: 1, normalize: false, target: 'v' as const }));
}

function camHead(ctx: PolicyContext, h: number, len: number, o: CaMOptions) {
  const s = Math.min(o.sinks, ctx.budget);
  const recent = lastN(len, ctx.budget - s);
  const keep = unionSorted(firstN(len, s), recent);
  const scores = o.score === 'last-query' ? slotStat(ctx, 'lastQuery', h, 'cam') : accumulatedScores(ctx, h, 'cam');
  return { keep, merges: camMerges(scores, keep, complement(len, keep), recent, o.mergeSpan, ctx.random) };
}

export const cam = definePolicy({
  name: 'cam',
  title: 'CaM',
  kind: 'merging',
  paper: { title: 'CaM: Cache Merging for Memory-efficient LLMs Inference', venue: 'ICML 2024' },
  summary: 'Sink + recent window; each token leaving the window has its value spread over the next m tokens with probability from its attention.',
  options: camOptions,
  create(o) {
    return {
      name: 'cam',
      needs: o.score === 'last-query' ? { lastQuery: true } : { cumulative: true },
      plan: (ctx) => planPerHeadWithMerges(ctx, (h, len) => camHead(ctx, h, len, o)),
    };
  },
});
