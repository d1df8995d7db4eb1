/**
 * AdaKV — "Ada-KV: Optimizing KV Cache Eviction by Adaptive Budget Allocation for Efficient
 * LLM Inference" (Feng et al., NeurIPS 2025, arXiv 2407.11550). SnapKV scores for every head;
 * the layer's prefix budget goes to the top entries over the flattened (head, slot) scores,
 * with a floor of α·B per head. Heads keep physically different numbers of slots.
 * Ours: the observation window (min(w, B) slots per head) is kept outside the adaptive part,
 * as the official code; the layer total stays B × kvHeads (fewer only when heads are short).
 */
import { z } from 'zod';
import { definePolicy } from '../registry.js';
import type { Plan, PolicyContext } from '../../cache/policy-api.js';
import { adaptiveHeadBudgets } from '../parts/allocators.js';
import { checkBudget } from '../parts/compose.js';
import { kernelOption, poolingOption, windowOption } from '../parts/options.js';
import { planFromKeep } from '../parts/plan.js';
import { allSlots, lastN, topK, unionSorted } from '../parts/select.js';
import { observationScores, type SnapKVOptions } from './snapkv.js';

export const adaKVOptions = z.object({
  window: windowOption(32),
  kernel: kernelOption(7),
  pooling: poolingOption('max'),
  floorRatio: z.number().min(0).max(1).default(0.2).describe('α: each head keeps at least ⌊α·(B − w)⌋ prefix slots'),
});

/**
 * Adaptive per-head selection with scores [len_h] per head whose last `window` slots are the
 * window (kept). Shared with MixKV's adaptive mode. Returns null when nothing is over budget.
 */
export function adaptiveKeep(ctx: PolicyContext, scoreOf: (h: number) => Float32Array, window: number, floorRatio: number): Plan {
  const B = checkBudget(ctx.budget, ctx.layer);
  const H = ctx.view.kvHeads;
  const lens = Array.from({ length: H }, (_, h) => ctx.view.length(h));
  if (lens.reduce((a, b) => a + b, 0) <= B * H) return null; // the layer total is what counts
  const r = Math.min(window, B);
  const win = lens.map((l) => Math.min(r, l));
  const prefix = lens.map((l, h) => scoreOf(h).subarray(0, l - win[h]!));
  const total = B * H - win.reduce((a, b) => a + b, 0);
  const budgets = adaptiveHeadBudgets(prefix, B - r, floorRatio, total);
  const keep = lens.map((l, h) => (l <= win[h]! ? allSlots(l) : unionSorted(topK(prefix[h]!, budgets[h]!), lastN(l, win[h]!))));
  return planFromKeep(keep);
}

export const adaKV = definePolicy({
  name: 'adakv',
  title: 'AdaKV',
  kind: 'eviction',
  paper: { title: 'Ada-KV: Optimizing KV Cache Eviction by Adaptive Budget Allocation for Efficient LLM Inference', arxiv: '2407.11550', venue: 'NeurIPS 2025' },
  summary: 'SnapKV scores with per-head budgets: the top B·H scores over all heads of a layer, each head keeping at least α·B.',
  options: adaKVOptions,
  create(o) {
    const snap: SnapKVOptions = { window: o.window, kernel: o.kernel, pooling: o.pooling };
    return {
      name: 'adakv',
      needs: { window: o.window },
      plan: (ctx) => adaptiveKeep(ctx, (h) => observationScores(ctx, h, snap, 'adakv'), o.window, o.floorRatio),
    };
  },
});
