/**
 * FastV — "An Image is Worth 1/2 Tokens After Layer 2: Plug-and-Play Inference Acceleration
 * for Large Vision-Language Models" (Chen et al., ECCV 2024, arXiv 2403.06764). After layer K,
 * rank image tokens by the average attention they receive in layer K and drop the lowest R %
 * of them for all later layers. Token pruning, not cache eviction.
 * Ours, as a KV baseline: the budget controls R. The layer allocator gives layers 0..K the
 * whole prompt and splits the rest of the total (base × layers) over the later layers; there,
 * the lowest-ranked image/video tokens are dropped until the budget is met, and text/audio only
 * when the media run out (beyond FastV's scope). The ranking is layer K's (captured in the
 * allocator); when a session skips the allocator, each layer ranks with its own statistics.
 * Score 'mean-received' (paper: column sum / number of queries that saw the token) or
 * 'last-query' (the official code: the last token's attention).
 */
import { z } from 'zod';
import { isVisualCode } from '../../cache/modality.js';
import { definePolicy } from '../registry.js';
import type { PolicyContext } from '../../cache/policy-api.js';
import { roundToTotal } from '../parts/allocators.js';
import { planPerHead } from '../parts/compose.js';
import { checkedStat, meanReceived, sumOverHeads } from '../parts/scores.js';
import { topK, unionSorted } from '../parts/select.js';
import type { AttentionStats } from '../../attention/stats.js';

export const fastVOptions = z.object({
  layer: z.number().int().min(0).default(2).describe('K: the layer whose attention ranks the image tokens; layers 0..K keep everything'),
  score: z.enum(['mean-received', 'last-query']).default('mean-received').describe('ranking: mean attention received (paper) or the last query’s attention (code)'),
});
type FastVOptions = z.output<typeof fastVOptions>;

/** Layer-wide rank score per slot from one layer's statistics (slot = position at prefill). */
function rankScores(stats: AttentionStats, kvHeads: number, len: number, positions: Int32Array, lastPosition: number, o: FastVOptions): Float32Array {
  const name = o.score === 'last-query' ? 'lastQuery' : 'cumulative';
  const summed = sumOverHeads(Array.from({ length: kvHeads }, (_, h) => checkedStat(stats, name, h, len, 'fastv')), len);
  return o.score === 'last-query' ? summed : meanReceived(summed, positions, stats.queries, lastPosition);
}

export const fastV = definePolicy({
  name: 'fastv',
  title: 'FastV',
  kind: 'eviction',
  paper: { title: 'An Image is Worth 1/2 Tokens After Layer 2: Plug-and-Play Inference Acceleration for Large Vision-Language Models', arxiv: '2403.06764', venue: 'ECCV 2024' },
  summary: 'After layer K, drops the image/video tokens that received the least attention in layer K from all later layers.',
  options: fastVOptions,
  checkForModel: (o, m) =>
    // Layers 0..K keep the whole prompt, so K must leave at least one later layer to prune.
    o.layer <= m.numLayers - 2 ? [] : [`layer: ${o.layer} leaves no layer to prune in a model of ${m.numLayers} layers (FastV keeps layers 0..layer whole); expected 0 ≤ layer ≤ ${m.numLayers - 2}`],
  create(o, env) {
    /** Layer K's rank score indexed by original position (null until the allocator ran). */
    let rankByPosition: Float32Array | null = null;
    const scoreOf = (ctx: PolicyContext, h: number, len: number): Float32Array => {
      const pos = ctx.view.meta(h).position;
      if (rankByPosition) {
        // Positions layer K never saw (decode tokens) rank above everything: FastV never drops them.
        return Float32Array.from(pos.subarray(0, len), (p) => (p < rankByPosition!.length ? rankByPosition![p]! : Infinity));
      }
      const last = ctx.phase === 'prefill' ? ctx.promptLength - 1 : pos.subarray(0, len).reduce((a, b) => Math.max(a, b), 0);
      return rankScores(ctx.stats, ctx.view.kvHeads, ctx.view.length(0), ctx.view.meta(0).position, last, o).subarray(0, len);
    };
    return {
      name: 'fastv',
      needs: o.score === 'last-query' ? { lastQuery: true } : { cumulative: true },
      allocateLayers: (a) => {
        const P = a.promptLength;
        const k = a.stats[o.layer];
        if (k && o.layer < a.numLayers) {
          rankByPosition = rankScores(k, (k.cumulative ?? k.lastQuery ?? []).length, P, Int32Array.from({ length: P }, (_, i) => i), P - 1, o);
        }
        const early = Math.min(o.layer + 1, a.numLayers);
        const later = a.numLayers - early;
        if (later === 0) return new Array<number>(a.numLayers).fill(P);
        const rest = Math.max(0, a.base * a.numLayers - early * P);
        const each = roundToTotal(new Array<number>(later).fill(Math.min(P, rest / later)), Math.min(P * later, rest));
        return [...new Array<number>(early).fill(P), ...each];
      },
      plan: (ctx) =>
        planPerHead(ctx, (h, len) => {
          const mod = ctx.view.meta(h).modality;
          const score = scoreOf(ctx, h, len);
          const text = topK(score, ctx.budget, (i) => !isVisualCode(mod[i]!));
          const nonMedia = Array.from(mod.subarray(0, len)).filter((m) => !isVisualCode(m)).length;
          if (text.length < nonMedia) return text; // budget below the non-media count: best non-media only
          return unionSorted(text, topK(score, ctx.budget - text.length, (i) => isVisualCode(mod[i]!)));
        }),
    };
  },
});
