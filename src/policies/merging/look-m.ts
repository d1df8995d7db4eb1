/**
 * LOOK-M — "LOOK-M: Look-Once Optimization in KV Cache for Efficient Multimodal Long-Context
 * Inference" (Wan et al., EMNLP Findings 2024, arXiv 2406.18139). Text-prior eviction on
 * accumulated attention (all text first, then media by score) plus a recent window; every
 * evicted slot is merged into its most key-similar kept slot (average / pivotal / weighted).
 * Default merge: 'pivotal', the variant of the authors' LOOK-M script
 * (SUSTechBruce/LOOK-M scripts/text-prior-pivot-merge_eval.sh: KV_MODE=text_prior_pivot_merge,
 * HH_R = RECENT_R = 0.1; the README's "test LOOK-M" example). 'average' (the earlier default)
 * and 'weighted' remain options.
 * Ours: the heavy/recent split is a share of the budget (scripts: 0.1 + 0.1 → 50/50); text
 * beyond the heavy budget is ranked by score; the code's "above-mean similarity" filter is
 * computed per KV head (the code averages it over heads) and, as the code, applies to average
 * and weighted only ('auto'); merges use slot weights as token counts (see parts/merge.ts).
 */
import { z } from 'zod';
import { ModalityCode } from '../../cache/modality.js';
import { definePolicy } from '../registry.js';
import type { PolicyContext } from '../../cache/policy-api.js';
import { planPerHeadWithMerges } from '../parts/compose.js';
import { mergeIntoNearest, type MergeVariant } from '../parts/merge.js';
import { mergeVariantOption, recentShareOption, recentSlots } from '../parts/options.js';
import { accumulatedScores } from '../parts/scores.js';
import { complement, lastN, topK, unionSorted } from '../parts/select.js';

export const lookMOptions = z.object({
  recentShare: recentShareOption(0.5),
  merge: mergeVariantOption('pivotal').describe('LOOK-M merge: pivotal (average with the target first; default, as scripts/text-prior-pivot-merge_eval.sh), average (scatter-mean), weighted (by key cosine)'),
  textPrior: z.boolean().default(true).describe('select text slots before media slots for the heavy budget'),
  mergeFilter: z
    .enum(['auto', 'mean', 'none'])
    .default('auto')
    .describe('merge only evicted slots whose best similarity is ≥ the mean (mean), never filter (none), or as the code: mean for average/weighted, none for pivotal (auto)'),
});
type LookMOptions = z.output<typeof lookMOptions>;

/**
 * Text-prior heavy + recent selection of one head: the last r slots, then up to B − r older
 * slots — text first (by score), media filling what is left (by score).
 */
export function textPriorKeep(scores: ArrayLike<number>, modality: Uint8Array, len: number, budget: number, recent: number, textPrior = true): Int32Array {
  const r = Math.min(recent, budget, len);
  const start = len - r;
  const heavy = budget - r;
  if (!textPrior) return unionSorted(topK(scores, heavy, (i) => i < start), lastN(len, r));
  const text = topK(scores, heavy, (i) => i < start && modality[i] === ModalityCode.text);
  const media = topK(scores, heavy - text.length, (i) => i < start && modality[i] !== ModalityCode.text);
  return unionSorted(text, media, lastN(len, r));
}

/** LOOK-M's keep + merge of one over-budget head (shared with MEDA). */
export function lookMHead(ctx: PolicyContext, h: number, len: number, keep: Int32Array, variant: MergeVariant, filter: LookMOptions['mergeFilter']) {
  const evicted = complement(len, keep);
  const useMean = filter === 'mean' || (filter === 'auto' && variant !== 'pivotal');
  const merges = mergeIntoNearest(ctx.view.keys(h).subarray(0, len * ctx.view.headDim), ctx.view.headDim, evicted, keep, variant, {
    minSimilarity: useMean ? 'mean' : undefined,
    weights: ctx.view.meta(h).weight,
  });
  return { keep, merges };
}

export const lookM = definePolicy({
  name: 'look-m',
  title: 'LOOK-M',
  kind: 'merging',
  paper: { title: 'LOOK-M: Look-Once Optimization in KV Cache for Efficient Multimodal Long-Context Inference', arxiv: '2406.18139', venue: 'EMNLP Findings 2024' },
  summary: 'Text-prior eviction (keep text first, then media by accumulated attention, plus a recent window); evicted KV merged into the most similar kept KV.',
  options: lookMOptions,
  create(o) {
    return {
      name: 'look-m',
      needs: { cumulative: true },
      plan: (ctx) =>
        planPerHeadWithMerges(ctx, (h, len) => {
          const keep = textPriorKeep(accumulatedScores(ctx, h, 'look-m'), ctx.view.meta(h).modality, len, ctx.budget, recentSlots(ctx.budget, o.recentShare), o.textPrior);
          return lookMHead(ctx, h, len, keep, o.merge, o.mergeFilter);
        }),
    };
  },
});
