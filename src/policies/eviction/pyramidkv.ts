/**
 * PyramidKV — "PyramidKV: Dynamic KV Cache Compression based on Pyramidal Information
 * Funneling" (Cai et al., arXiv 2406.02069). SnapKV selection with layer budgets that decrease
 * linearly with depth: min = c/β, max = 2c − min over the non-window part c, plus the window.
 * KVCache-Factory's guards (pyramidkv_utils.py, PyramidKVCluster.update_kv), option
 * `factoryGuards` (default on; off = the plain formula, the earlier reading): a prompt shorter
 * than 2c falls back to the uniform SnapKV budget, and the bottom layer's share is clamped to
 * the prompt's non-window length (the top layers get what the clamp frees, the mean stays c).
 * Ours: window 32 and kernel 5 avg as our SnapKV (KVCache-Factory scripts vary: 64/32/8,
 * kernel 5–7); budgets are rounded to whole slots keeping the total exactly base × layers.
 */
import { z } from 'zod';
import { definePolicy } from '../registry.js';
import { planPerHead } from '../parts/compose.js';
import { pyramidLayerBudgets } from '../parts/allocators.js';
import { kernelOption, poolingOption, windowOption } from '../parts/options.js';
import { snapKVKeep } from './snapkv.js';

export const pyramidKVOptions = z.object({
  window: windowOption(32),
  kernel: kernelOption(5),
  pooling: poolingOption('avg'),
  beta: z.number().min(1).default(20).describe('pyramid steepness β: the top layer gets c/β, the bottom 2c − c/β'),
  factoryGuards: z.boolean().default(true).describe("KVCache-Factory's guards: uniform budgets for prompts shorter than 2c, bottom layer clamped to the prompt's non-window length; off = the plain pyramid"),
});

export const pyramidKV = definePolicy({
  name: 'pyramidkv',
  title: 'PyramidKV',
  kind: 'eviction',
  paper: { title: 'PyramidKV: Dynamic KV Cache Compression based on Pyramidal Information Funneling', arxiv: '2406.02069' },
  summary: 'SnapKV selection with a layer budget decreasing linearly with depth (more cache where attention is broad).',
  options: pyramidKVOptions,
  create(o) {
    return {
      name: 'pyramidkv',
      needs: { window: o.window },
      plan: (ctx) => planPerHead(ctx, (h, len) => snapKVKeep(ctx, h, len, ctx.budget, o, 'pyramidkv')),
      allocateLayers: (a) => pyramidLayerBudgets(a.base, a.numLayers, o.beta, Math.min(o.window, a.base), o.factoryGuards ? (a.streamLength ?? a.promptLength) : undefined),
    };
  },
});
