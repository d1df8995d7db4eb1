/**
 * ChunkKV — "ChunkKV: Semantic-Preserving KV Cache Compression for Efficient Long-Context LLM
 * Inference" (Liu et al., arXiv 2502.00299). Tokens are grouped into chunks of consecutive
 * slots; a chunk's score is the mean of its slots' scores (SnapKV window attention in the
 * paper), and whole chunks are kept or dropped, so local context survives together.
 * Ours: the slot scorer is any composition scorer (default snapkv; kvpress wraps any press);
 * chunk size 10 (the paper's default; kvpress uses 20); the budget is met exactly — whole chunks
 * in rank order while they fit, then the best slots of the next chunk (kvpress keeps a whole
 * number of chunks instead); the decision is layer-wide (scores summed over heads, as kvpress)
 * when the heads hold the same slots, per head otherwise; `chunking: frame` makes every run of
 * media slots of one frame/utterance (modality, segment, time) its own chunk, text stays fixed.
 */
import { z } from 'zod';
import { ModalityCode } from '../../cache/modality.js';
import type { PolicyContext } from '../../cache/policy-api.js';
import type { TokenMeta } from '../../cache/token-meta.js';
import { definePolicy } from '../registry.js';
import { bindScorer, checkScorerOptions, scorerOption, scorerOptionsOption } from '../compose/scorers.js';
import { checkBudget, headsShareSlots, planPerHead } from '../parts/compose.js';
import { planFromKeep } from '../parts/plan.js';
import { allSlots, topK, unionSorted } from '../parts/select.js';

export const chunkKVOptions = z
  .object({
    scorer: scorerOption('snapkv'),
    scorerOptions: scorerOptionsOption(),
    chunk: z.number().int().min(1).default(10).describe('chunk length in slots (text, and media with chunking: fixed)'),
    chunking: z.enum(['fixed', 'frame']).default('fixed').describe('fixed: runs of `chunk` slots; frame: each video frame / audio segment (same modality, segment, time) is one chunk'),
  })
  .superRefine(checkScorerOptions);
export type ChunkKVOptions = z.output<typeof chunkKVOptions>;

/** Chunk start offsets over len slots (ascending, starting at 0). */
export function chunkStarts(meta: TokenMeta, len: number, chunk: number, chunking: ChunkKVOptions['chunking']): number[] {
  const starts: number[] = [];
  let size = 0;
  const frameKey = (j: number): string | null => {
    const m = meta.modality[j]!;
    if (chunking === 'fixed' || m === ModalityCode.text) return null;
    return `${m}|${meta.segment[j]}|${meta.time[j]}`;
  };
  let prev: string | null = null;
  for (let j = 0; j < len; j++) {
    const key = frameKey(j);
    if (j === 0 || key !== prev || (key === null && size >= chunk)) {
      starts.push(j);
      size = 0;
    }
    size++;
    prev = key;
  }
  return starts;
}

/**
 * Whole chunks by mean score, best first, while they fit in the budget; the next chunk in rank
 * order gives its best slots for what is left. scores: [len]; returns ascending slots.
 */
export function chunkKeep(scores: ArrayLike<number>, starts: readonly number[], len: number, budget: number): Int32Array {
  if (budget >= len) return allSlots(len);
  const chunks = starts.map((s, c) => {
    const end = starts[c + 1] ?? len;
    let sum = 0;
    for (let j = s; j < end; j++) sum += scores[j]!;
    return { s, end, mean: sum / (end - s) };
  });
  const order = chunks.map((_, c) => c).sort((a, b) => chunks[b]!.mean - chunks[a]!.mean || a - b);
  const parts: Int32Array[] = [];
  let left = budget;
  for (const c of order) {
    if (left === 0) break;
    const { s, end } = chunks[c]!;
    if (end - s <= left) {
      parts.push(Int32Array.from({ length: end - s }, (_, i) => s + i));
      left -= end - s;
    } else {
      parts.push(topK(scores, left, (j) => j >= s && j < end));
      left = 0;
    }
  }
  return unionSorted(...parts);
}

export const chunkKV = definePolicy({
  name: 'chunkkv',
  title: 'ChunkKV',
  kind: 'eviction',
  paper: { title: 'ChunkKV: Semantic-Preserving KV Cache Compression for Efficient Long-Context LLM Inference', arxiv: '2502.00299' },
  summary: 'Keeps or drops whole chunks of consecutive tokens (or whole video frames) by their mean score, so local context survives together.',
  options: chunkKVOptions,
  create(o, env) {
    const scorer = bindScorer(o.scorer, o.scorerOptions, env);
    const layerWide = (ctx: PolicyContext) => {
      const B = checkBudget(ctx.budget, ctx.layer);
      const len = ctx.view.length(0);
      if (len <= B) return null;
      const summed = new Float32Array(len);
      for (let h = 0; h < ctx.view.kvHeads; h++) {
        const s = scorer.score(ctx, h);
        for (let j = 0; j < len; j++) summed[j] += s[j]!;
      }
      const keep = chunkKeep(summed, chunkStarts(ctx.view.meta(0), len, o.chunk, o.chunking), len, B);
      return planFromKeep(Array.from({ length: ctx.view.kvHeads }, () => keep.slice()));
    };
    return {
      name: 'chunkkv',
      needs: scorer.needs,
      plan: (ctx) =>
        headsShareSlots(ctx.view)
          ? layerWide(ctx)
          : planPerHead(ctx, (h, len) => chunkKeep(scorer.score(ctx, h), chunkStarts(ctx.view.meta(h), len, o.chunk, o.chunking), len, ctx.budget)),
    };
  },
});
