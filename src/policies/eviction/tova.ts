/**
 * TOVA — "Transformers are Multi-State RNNs" (Oren et al., arXiv 2401.06104). A fixed cache of
 * B slots: once full, drop the slot the *current* query attends to least, with attention
 * averaged over the heads of the layer (one decision per layer). No window, no accumulation.
 * Ours: the prompt is handled by applying the rule once with the last prompt query (as MLLM
 * ports do); scope 'head' makes the decision per KV head instead; when heads hold different
 * slot lists (after a per-head policy) the layer decision falls back to per head.
 */
import { z } from 'zod';
import { definePolicy } from '../registry.js';
import type { Plan, PolicyContext } from '../../cache/policy-api.js';
import { checkBudget, headsShareSlots, planPerHead } from '../parts/compose.js';
import { planFromKeep } from '../parts/plan.js';
import { slotStat, sumOverHeads } from '../parts/scores.js';
import { topK } from '../parts/select.js';

export const tovaOptions = z.object({
  scope: z.enum(['layer', 'head']).default('layer').describe('layer: one decision from attention summed over all heads (paper); head: per KV head'),
});

function planLayer(ctx: PolicyContext): Plan {
  const budget = checkBudget(ctx.budget, ctx.layer);
  const len = ctx.view.length(0);
  if (len <= budget) return null;
  const perHead = Array.from({ length: ctx.view.kvHeads }, (_, h) => slotStat(ctx, 'lastQuery', h, 'tova'));
  const keep = topK(sumOverHeads(perHead, len), budget);
  return planFromKeep(perHead.map(() => keep.slice()));
}

export const tova = definePolicy({
  name: 'tova',
  title: 'TOVA',
  kind: 'eviction',
  paper: { title: 'Transformers are Multi-State RNNs', arxiv: '2401.06104' },
  summary: 'Fixed-size cache; when full, drops the token the current query attends to least (averaged over the heads of the layer).',
  options: tovaOptions,
  create(o) {
    return {
      name: 'tova',
      needs: { lastQuery: true },
      plan: (ctx) =>
        o.scope === 'layer' && ctx.view.kvHeads > 0 && headsShareSlots(ctx.view)
          ? planLayer(ctx)
          : planPerHead(ctx, (h) => topK(slotStat(ctx, 'lastQuery', h, 'tova'), ctx.budget)),
    };
  },
});
