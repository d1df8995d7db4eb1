/**
 * MixKV — "Mixing Importance with Diversity: Joint Optimization for KV Cache Compression in
 * Large Vision-Language Models" (Liu et al., ICLR 2026, arXiv 2510.20707). Per head: importance
 * = SnapKV window attention + value-norm score; diversity = −cos(key, mean key); final score =
 * r_h·diversity + (1 − r_h)·importance with r_h the head's key redundancy; top-(B − w) + window.
 * Ours: r_h is computed online per call as the mean pairwise key cosine of the head (clamped to
 * [0, 1]) — the released code precomputes r_h offline per model and loads it from JSON; value
 * norms and diversity are min-max normalised then rescaled to the mean attention score, as the
 * code; `heads: 'adaptive'` runs the AdaKV allocation (floor α) on the mixed scores.
 */
import { z } from 'zod';
import { definePolicy } from '../registry.js';
import type { PolicyContext } from '../../cache/policy-api.js';
import { planPerHead } from '../parts/compose.js';
import { kernelOption, poolingOption, windowOption } from '../parts/options.js';
import { cosineAt, meanPairwiseCosine, rowNorms } from '../parts/similarity.js';
import { keepTopWithRecent } from '../parts/select.js';
import { adaptiveKeep } from './adakv.js';
import { observationScores } from './snapkv.js';

export const mixKVOptions = z.object({
  window: windowOption(32),
  kernel: kernelOption(7),
  pooling: poolingOption('max'),
  heads: z.enum(['uniform', 'adaptive']).default('uniform').describe('per-head budgets: uniform (SnapKV path) or adaptive (AdaKV path)'),
  floorRatio: z.number().min(0).max(1).default(0.2).describe('AdaKV floor α for heads: adaptive'),
});
type MixKVOptions = z.output<typeof mixKVOptions>;

/** Min-max normalise to [0, 1], then scale so the mean equals `mean`. */
function rescaled(x: Float32Array, mean: number): Float32Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of x) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const span = hi - lo;
  const out = Float32Array.from(x, (v) => (span > 0 ? (v - lo) / span : 0));
  let m = 0;
  for (const v of out) m += v;
  m /= Math.max(1, out.length);
  return m > 0 ? out.map((v) => (v * mean) / m) : out;
}

/** Mixed score [len] of KV head h; the window slots stay +Infinity (kept). */
export function mixedScores(ctx: PolicyContext, h: number, o: MixKVOptions): Float32Array {
  const v = ctx.view;
  const len = v.length(h);
  const d = v.headDim;
  const base = observationScores(ctx, h, o, 'mixkv');
  const prefix = Math.max(0, len - o.window);
  if (prefix === 0) return base;
  const attn = base.subarray(0, prefix);
  let attnMean = 0;
  for (const a of attn) attnMean += a;
  attnMean /= prefix;
  const keys = v.keys(h).subarray(0, len * d);
  const valueNorm = rescaled(rowNorms(v.values(h).subarray(0, prefix * d), d), attnMean);
  // Diversity: negative cosine to the mean key of the head.
  const meanKey = new Float32Array(d);
  for (let i = 0; i < len; i++) for (let j = 0; j < d; j++) meanKey[j] += keys[i * d + j]! / len;
  const withMean = new Float32Array((prefix + 1) * d);
  withMean.set(keys.subarray(0, prefix * d));
  withMean.set(meanKey, prefix * d);
  const diversity = rescaled(Float32Array.from({ length: prefix }, (_, i) => -cosineAt(withMean, d, i, prefix)), attnMean);
  const r = Math.min(1, Math.max(0, meanPairwiseCosine(keys, d, len)));
  const out = base.slice();
  for (let i = 0; i < prefix; i++) out[i] = r * diversity[i]! + (1 - r) * (attn[i]! + valueNorm[i]!);
  return out;
}

export const mixKV = definePolicy({
  name: 'mixkv',
  title: 'MixKV',
  kind: 'eviction',
  paper: { title: 'Mixing Importance with Diversity: Joint Optimization for KV Cache Compression in Large Vision-Language Models', arxiv: '2510.20707', venue: 'ICLR 2026' },
  summary: 'SnapKV/AdaKV selection on a per-head mix of importance (window attention + value norm) and diversity (distance to the mean key), weighted by head redundancy.',
  options: mixKVOptions,
  create(o) {
    return {
      name: 'mixkv',
      needs: { window: o.window },
      plan: (ctx) =>
        o.heads === 'adaptive'
          ? adaptiveKeep(ctx, (h) => mixedScores(ctx, h, o), o.window, o.floorRatio)
          : planPerHead(ctx, (h, len) => keepTopWithRecent(mixedScores(ctx, h, o), len, ctx.budget, Math.min(o.window, len))),
    };
  },
});
