/**
 * Knorm — "A Simple and Effective L2 Norm-Based Strategy for KV Cache Compression" (Devoto et
 * al., EMNLP 2024, arXiv 2406.11430). Keys with a *low* L2 norm draw high attention, so keep
 * the B slots of lowest key norm; no attention statistics at all (works with flash kernels).
 * Ours: `skipLayers` (default 0, as kvpress's KnormPress) leaves the first layers uncompressed —
 * the paper skipped the first two layers, where the norm/attention correlation is weak.
 */
import { z } from 'zod';
import { definePolicy } from '../registry.js';
import { planPerHead } from '../parts/compose.js';
import { rowNorms } from '../parts/similarity.js';
import { topK } from '../parts/select.js';

export const knormOptions = z.object({
  skipLayers: z.number().int().min(0).default(0).describe('leave layers 0..skipLayers-1 uncompressed (the paper used 2)'),
});

export const knorm = definePolicy({
  name: 'knorm',
  title: 'K-norm',
  kind: 'eviction',
  paper: { title: 'A Simple and Effective L2 Norm-Based Strategy for KV Cache Compression', arxiv: '2406.11430', venue: 'EMNLP 2024' },
  summary: 'Keeps the tokens whose keys have the lowest L2 norm (low key norm correlates with high attention).',
  options: knormOptions,
  checkForModel: (o, m) =>
    o.skipLayers < m.numLayers ? [] : [`skipLayers: ${o.skipLayers} leaves every layer of a ${m.numLayers}-layer model uncompressed; expected 0 ≤ skipLayers ≤ ${m.numLayers - 1}`],
  create(o) {
    return {
      name: 'knorm',
      needs: {},
      plan: (ctx) => {
        if (ctx.layer < o.skipLayers) return null;
        return planPerHead(ctx, (h, len) => {
          const norms = rowNorms(ctx.view.keys(h).subarray(0, len * ctx.view.headDim), ctx.view.headDim);
          return topK(norms.map((n) => -n), ctx.budget);
        });
      },
    };
  },
});
