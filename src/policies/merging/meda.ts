/**
 * MEDA — "MEDA: Dynamic KV Cache Allocation for Efficient Multimodal Long-Context Inference"
 * (Wan et al., NAACL 2025, arXiv 2502.17599). Layer budgets from cross-modal attention entropy
 * (more diffuse text↔visual attention ⇒ a larger share, softmax-normalised across layers);
 * within a layer, heavy + recent selection and the evicted KV averaged into the kept (LOOK-M).
 * Ours [INF]: layer score = mean over heads of ½(H(text→visual) + H(visual→text)), entropies
 * normalised to [0, 1]: text→visual over visual slots of the text-query column sums,
 * visual→text over text slots of the non-text-query column sums (needs the prompt metadata in
 * the allocator args). Without it, a proxy from `flows`: the entropy of each query modality's
 * mass split between text and visual keys. Budget shares = softmax(score / temperature).
 * Selection is H2O-style on accumulated attention (the paper names SnapKV/H2O-style).
 */
import { z } from 'zod';
import { isVisualCode, ModalityCode, NUM_MODALITIES } from '../../cache/modality.js';
import type { AttentionStats } from '../../attention/stats.js';
import type { TokenMeta } from '../../cache/token-meta.js';
import { definePolicy } from '../registry.js';
import { weightedLayerBudgets } from '../parts/allocators.js';
import { planPerHeadWithMerges } from '../parts/compose.js';
import { normalizedEntropy, softmax } from '../parts/entropy.js';
import { mergeVariantOption, recentShareOption, recentSlots } from '../parts/options.js';
import { accumulatedScores } from '../parts/scores.js';
import { keepTopWithRecent } from '../parts/select.js';
import { lookMHead } from './look-m.js';

export const medaOptions = z.object({
  recentShare: recentShareOption(0.5),
  merge: mergeVariantOption('average'),
  temperature: z.number().positive().default(0.5).describe('softmax temperature over the layers’ cross-modal entropies (lower = more skewed budgets)'),
});

/** Cross-modal entropy score of one layer in [0, 1] (see the header). */
export function crossModalEntropy(stats: AttentionStats, meta?: TokenMeta): number {
  const heads = stats.cumulative?.length ?? stats.flows?.length ?? 0;
  if (heads === 0) return 0;
  let sum = 0;
  for (let h = 0; h < heads; h++) {
    const col = stats.cumulative?.[h];
    const text = stats.textColumn?.[h];
    if (meta && col && text) {
      const mod = meta.modality;
      const tv = normalizedEntropy(text, (j) => isVisualCode(mod[j]!));
      const rest = Float32Array.from(col, (c, j) => c - text[j]!);
      const vt = normalizedEntropy(rest, (j) => mod[j] === ModalityCode.text);
      sum += (tv + vt) / 2;
    } else if (stats.flows?.[h]) {
      const f = stats.flows[h]!;
      const split = (qm: number) => {
        const toText = f[qm * NUM_MODALITIES + ModalityCode.text]!;
        const toVis = f[qm * NUM_MODALITIES + ModalityCode.image]! + f[qm * NUM_MODALITIES + ModalityCode.video]!;
        return normalizedEntropy([toText, toVis]);
      };
      sum += (split(ModalityCode.text) + (split(ModalityCode.image) + split(ModalityCode.video)) / 2) / 2;
    }
  }
  return sum / heads;
}

export const meda = definePolicy({
  name: 'meda',
  title: 'MEDA',
  kind: 'merging',
  paper: { title: 'MEDA: Dynamic KV Cache Allocation for Efficient Multimodal Long-Context Inference', arxiv: '2502.17599', venue: 'NAACL 2025' },
  summary: 'Layer budgets from cross-modal attention entropy; heavy + recent selection with evicted KV merged into the nearest kept KV.',
  options: medaOptions,
  create(o) {
    return {
      name: 'meda',
      needs: { cumulative: true, textColumn: true, flows: true },
      allocateLayers: (a) => weightedLayerBudgets(softmax(a.stats.map((s) => crossModalEntropy(s, a.meta)), o.temperature), a.base, 1),
      plan: (ctx) =>
        planPerHeadWithMerges(ctx, (h, len) => {
          const keep = keepTopWithRecent(accumulatedScores(ctx, h, 'meda'), len, ctx.budget, recentSlots(ctx.budget, o.recentShare));
          return lookMHead(ctx, h, len, keep, o.merge, 'none');
        }),
    };
  },
});
