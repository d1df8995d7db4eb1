/**
 * SnapKV — "SnapKV: LLM Knows What You are Looking for Before Generation" (Li et al.,
 * NeurIPS 2024, arXiv 2404.14469). Score: attention of the last w prompt queries to each
 * earlier key, pooled over neighbouring positions; keep top-(B − w) prefix slots + the window.
 * Ours: GQA scores are sums over the group (same ranking as the code's mean); pooling edges
 * average only the neighbours present (see parts/pool.ts); with B < w the last B slots are kept.
 */
import { z } from 'zod';
import { definePolicy } from '../registry.js';
import type { PolicyContext } from '../../cache/policy-api.js';
import { planPerHead } from '../parts/compose.js';
import { kernelOption, poolingOption, windowOption } from '../parts/options.js';
import { pool1d } from '../parts/pool.js';
import { slotStat } from '../parts/scores.js';
import { keepTopWithRecent } from '../parts/select.js';

export const snapKVOptions = z.object({
  window: windowOption(32),
  kernel: kernelOption(5),
  pooling: poolingOption('avg'),
});
export type SnapKVOptions = z.output<typeof snapKVOptions>;

/**
 * SnapKV scores of KV head h: [len] f32, the window statistic pooled over the prefix
 * [0, len − w); the window slots get +Infinity (always kept).
 */
export function observationScores(ctx: PolicyContext, h: number, o: SnapKVOptions, policy: string): Float32Array {
  const len = ctx.view.length(h);
  const stat = slotStat(ctx, 'window', h, policy);
  const prefix = Math.max(0, len - o.window);
  const out = new Float32Array(len).fill(Infinity);
  out.set(pool1d(stat.subarray(0, prefix), o.kernel, o.pooling));
  return out;
}

/** SnapKV's keep rule for one head: the window (clamped to the budget) + top prefix slots. */
export function snapKVKeep(ctx: PolicyContext, h: number, len: number, budget: number, o: SnapKVOptions, policy: string): Int32Array {
  return keepTopWithRecent(observationScores(ctx, h, o, policy), len, budget, Math.min(o.window, len));
}

export const snapKV = definePolicy({
  name: 'snapkv',
  title: 'SnapKV',
  kind: 'eviction',
  paper: { title: 'SnapKV: LLM Knows What You are Looking for Before Generation', arxiv: '2404.14469', venue: 'NeurIPS 2024' },
  summary: 'Scores keys by the attention of the last prompt queries (observation window), pooled over neighbours; keeps the top ones plus the window.',
  options: snapKVOptions,
  create(o) {
    return {
      name: 'snapkv',
      needs: { window: o.window },
      plan: (ctx) => planPerHead(ctx, (h, len) => snapKVKeep(ctx, h, len, ctx.budget, o, 'snapkv')),
    };
  },
});
