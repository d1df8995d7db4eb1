/**
 * StreamingLLM — "Efficient Streaming Language Models with Attention Sinks" (Xiao et al.,
 * arXiv 2309.17453). Keeps the first `sinks` slots (attention sinks) plus the most recent slots
 * filling the rest of the budget; run with the over-budget schedule it is the rolling window.
 * Ours: 4 sinks as the original (not the half-budget sinks of the illyasvia/kvcache harness);
 * keys keep the RoPE of their original positions (no re-assignment of positions inside the
 * cache); when the budget is below `sinks`, only the first `budget` slots are kept.
 */
import { z } from 'zod';
import { definePolicy } from '../registry.js';
import { planPerHead } from '../parts/compose.js';
import { firstN, lastN, unionSorted } from '../parts/select.js';

export const streamingLLMOptions = z.object({
  sinks: z.number().int().min(0).default(4).describe('leading slots always kept (attention sinks)'),
});

export const streamingLLM = definePolicy({
  name: 'streaming-llm',
  title: 'StreamingLLM',
  kind: 'eviction',
  paper: { title: 'Efficient Streaming Language Models with Attention Sinks', arxiv: '2309.17453', venue: 'ICLR 2024' },
  summary: 'Keeps the first few tokens (attention sinks) and a sliding window of the most recent ones; no scores.',
  options: streamingLLMOptions,
  create(o) {
    return {
      name: 'streaming-llm',
      needs: {},
      plan: (ctx) =>
        planPerHead(ctx, (_h, len) => {
          const s = Math.min(o.sinks, ctx.budget);
          return unionSorted(firstN(len, s), lastN(len, ctx.budget - s));
        }),
    };
  },
});
