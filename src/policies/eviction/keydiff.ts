/**
 * KeyDiff — "KeyDiff: Key Similarity-Based KV Cache Eviction for Long-Context LLM Inference in
 * Resource-Constrained Environments" (Park et al., arXiv 2504.15364). Query-free: the anchor is
 * the mean of the head's unit-length keys; a key's score is −cos(key, anchor), so the keys most
 * unlike the average survive. No attention statistics (works with any attention kernel).
 * Ours: one-shot over the whole head, as kvpress's KeyDiffPress (the paper evicts block by block
 * while streaming the prompt; our over-budget schedule gives that streaming form); `window`
 * (default 0, as kvpress) optionally protects the most recent slots.
 */
import { z } from 'zod';
import { definePolicy } from '../registry.js';
import type { LayerView } from '../../cache/policy-api.js';
import { planPerHead } from '../parts/compose.js';
import { keepTopWithRecent } from '../parts/select.js';
import { rowNorms } from '../parts/similarity.js';

export const keyDiffOptions = z.object({
  window: z.number().int().min(0).default(0).describe('always keep this many most recent slots (counted in the budget); 0 = pure KeyDiff'),
});

/**
 * KeyDiff score of KV head h: [len] f32, −cos(k_j, anchor) with anchor = mean_j k_j/‖k_j‖
 * (zero keys count as zero vectors and score 0). Higher = more distinctive = kept.
 */
export function keyDiffScores(view: LayerView, h: number): Float32Array {
  const d = view.headDim;
  const len = view.length(h);
  const keys = view.keys(h).subarray(0, len * d);
  const norms = rowNorms(keys, d);
  const anchor = new Float64Array(d);
  for (let j = 0; j < len; j++) {
    const inv = norms[j]! > 0 ? 1 / norms[j]! : 0;
    for (let c = 0; c < d; c++) anchor[c] += (keys[j * d + c]! * inv) / len;
  }
  let anchorNorm = 0;
  for (let c = 0; c < d; c++) anchorNorm += anchor[c]! * anchor[c]!;
  anchorNorm = Math.sqrt(anchorNorm);
  const out = new Float32Array(len);
  if (anchorNorm === 0) return out;
  for (let j = 0; j < len; j++) {
    if (norms[j] === 0) continue;
    let dot = 0;
    for (let c = 0; c < d; c++) dot += keys[j * d + c]! * anchor[c]!;
    out[j] = -dot / (norms[j]! * anchorNorm);
  }
  return out;
}

export const keyDiff = definePolicy({
  name: 'keydiff',
  title: 'KeyDiff',
  kind: 'eviction',
  paper: { title: 'KeyDiff: Key Similarity-Based KV Cache Eviction for Long-Context LLM Inference in Resource-Constrained Environments', arxiv: '2504.15364' },
  summary: 'Query-free: keeps the keys least similar (cosine) to the mean key direction of the head.',
  options: keyDiffOptions,
  create(o) {
    return {
      name: 'keydiff',
      needs: {},
      plan: (ctx) => planPerHead(ctx, (h, len) => keepTopWithRecent(keyDiffScores(ctx.view, h), len, ctx.budget, o.window)),
    };
  },
});
