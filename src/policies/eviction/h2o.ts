/**
 * H2O — "H2O: Heavy-Hitter Oracle for Efficient Generative Inference of Large Language Models"
 * (Zhang et al., NeurIPS 2023, arXiv 2306.14048). Score: attention each key has accumulated
 * over all queries so far (per KV head); keep the heavy hitters plus a recent window.
 * Ours: the accumulated score is the cache's running column sum (`view.accumulated`), so the
 * greedy per-step eviction of the paper is the over-budget schedule; the heavy/recent split is
 * a share of the budget (default 50/50 as the paper's 10 % + 10 %).
 */
import { z } from 'zod';
import { definePolicy } from '../registry.js';
import { planPerHead } from '../parts/compose.js';
import { recentShareOption, recentSlots } from '../parts/options.js';
import { accumulatedScores } from '../parts/scores.js';
import { keepTopWithRecent } from '../parts/select.js';

export const h2oOptions = z.object({ recentShare: recentShareOption(0.5) });

export const h2o = definePolicy({
  name: 'h2o',
  title: 'H2O',
  kind: 'eviction',
  paper: { title: 'H2O: Heavy-Hitter Oracle for Efficient Generative Inference of Large Language Models', arxiv: '2306.14048', venue: 'NeurIPS 2023' },
  summary: 'Keeps the tokens with the largest accumulated attention (heavy hitters) plus the most recent ones.',
  options: h2oOptions,
  create(o) {
    return {
      name: 'h2o',
      needs: { cumulative: true },
      plan: (ctx) =>
        planPerHead(ctx, (h, len) => keepTopWithRecent(accumulatedScores(ctx, h, 'h2o'), len, ctx.budget, recentSlots(ctx.budget, o.recentShare))),
    };
  },
});
