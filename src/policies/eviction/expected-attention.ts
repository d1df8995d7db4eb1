/**
 * ExpectedAttention — "Expected Attention: KV Cache Compression by Estimating Attention from
 * Future Queries Distribution" (Devoto et al., NVIDIA, arXiv 2510.00636; kvpress's
 * ExpectedAttentionPress). Queries are modelled as Gaussian: mean μ and covariance Σ of the
 * pre-RoPE queries, rotated by the average RoPE rotation R̄ over the next F positions; a key's
 * expected logit is k·R̄μ/√d + kᵀR̄ΣR̄ᵀk/(2d), softmaxed over the slots, times ‖v‖₂.
 * Ours: statistics come from the last `window` queries the session saw (kvpress uses every
 * prompt query after the sinks; under chunked prefill ours are the last chunk's); queries at
 * positions < sinks are left out and the `sinks` first slots are always kept (as kvpress);
 * RoPE is un-applied from the stored queries with the model's tables (PolicyEnv.rope, 1-D RoPE
 * only); `covariance: diagonal` keeps only the variances (cheaper, d instead of d² per slot);
 * `keepRecent` (default 0, as kvpress) optionally protects the most recent slots.
 */
import { z } from 'zod';
import type { RecentQueries } from '../../attention/stats.js';
import type { PolicyContext } from '../../cache/policy-api.js';
import { definePolicy, type PolicyEnv } from '../registry.js';
import { planPerHead } from '../parts/compose.js';
import { rowNorms } from '../parts/similarity.js';
import { keepTopWithRecent } from '../parts/select.js';

export const expectedAttentionOptions = z.object({
  window: z.number().int().min(1).default(32).describe('recent query tokens whose statistics model the future queries'),
  futurePositions: z.number().int().min(1).default(512).describe('F: the query statistics are rotated by the mean RoPE rotation over the next F positions'),
  sinks: z.number().int().min(0).default(4).describe('leading slots always kept (and queries at those positions left out of the statistics)'),
  covariance: z.enum(['full', 'diagonal', 'none']).default('full').describe('query covariance term: full Σ (paper), its diagonal, or none (mean only)'),
  valueNorm: z.boolean().default(true).describe('multiply the expected attention by ‖v‖₂ (kvpress default)'),
  epsilon: z.number().min(0).default(0).describe('ε added to the expected attention before the value-norm weighting'),
  keepRecent: z.number().int().min(0).default(0).describe('always keep this many most recent slots (0 = as kvpress, no recent window)'),
});
export type ExpectedAttentionOptions = z.output<typeof expectedAttentionOptions>;

type Rope = NonNullable<PolicyEnv['rope']>;

/** Rotate-half rotation of x[0..rotaryDim) in place by per-pair cos/sin (dims beyond stay). */
function rotate(x: Float64Array, cos: ArrayLike<number>, sin: ArrayLike<number>, half: number): void {
  for (let c = 0; c < half; c++) {
    const a = x[c]!;
    const b = x[c + half]!;
    x[c] = a * cos[c]! - b * sin[c]!;
    x[c + half] = b * cos[c]! + a * sin[c]!;
  }
}

/**
 * Future-query Gaussian of query head qh: μ' = R̄μ [d] and Σ' = R̄ΣR̄ᵀ [d][d] (null without
 * covariance), from recent RoPE'd queries (un-rotated to pre-RoPE first). `from`: first
 * future position. Returns null when no query is usable (all within the sinks).
 */
export function futureQueryMoments(recent: RecentQueries, qh: number, qHeads: number, d: number, rope: Rope, from: number, o: ExpectedAttentionOptions) {
  const half = rope.rotaryDim / 2;
  const inv = rope.inverseFrequencies(from + o.futurePositions);
  const rows: Float64Array[] = [];
  for (let i = 0; i < recent.positions.length; i++) {
    const p = recent.positions[i]!;
    if (p < o.sinks) continue;
    const x = Float64Array.from(recent.q.subarray((i * qHeads + qh) * d, (i * qHeads + qh + 1) * d));
    rotate(x, Array.from({ length: half }, (_, c) => Math.cos(p * inv[c]!)), Array.from({ length: half }, (_, c) => -Math.sin(p * inv[c]!)), half);
    rows.push(x);
  }
  if (rows.length === 0) return null;
  const mu = new Float64Array(d);
  for (const r of rows) for (let c = 0; c < d; c++) mu[c] += r[c]! / rows.length;
  // Mean rotation over the future positions: per pair, the mean cos and sin of its angle.
  const cos = new Float64Array(half);
  const sin = new Float64Array(half);
  for (let t = from; t < from + o.futurePositions; t++) {
    for (let c = 0; c < half; c++) {
      cos[c] += Math.cos(t * inv[c]!) / o.futurePositions;
      sin[c] += Math.sin(t * inv[c]!) / o.futurePositions;
    }
  }
  let sigma: Float64Array | null = null;
  if (o.covariance !== 'none') {
    sigma = new Float64Array(d * d);
    for (const r of rows) {
      for (let a = 0; a < d; a++) {
        for (let b = o.covariance === 'full' ? 0 : a; b < (o.covariance === 'full' ? d : a + 1); b++) sigma[a * d + b] += ((r[a]! - mu[a]!) * (r[b]! - mu[b]!)) / rows.length;
      }
    }
    // Σ' = R̄ Σ R̄ᵀ: rotate every column, then every row.
    const col = new Float64Array(d);
    for (let b = 0; b < d; b++) {
      for (let a = 0; a < d; a++) col[a] = sigma[a * d + b]!;
      rotate(col, cos, sin, half);
      for (let a = 0; a < d; a++) sigma[a * d + b] = col[a]!;
    }
    for (let a = 0; a < d; a++) {
      const row = sigma.subarray(a * d, (a + 1) * d);
      rotate(row, cos, sin, half);
    }
  }
  rotate(mu, cos, sin, half);
  return { mu, sigma };
}

/** Expected-attention scores of KV head h: [len] f32; the sinks get +Infinity. */
export function expectedAttentionScores(ctx: PolicyContext, h: number, env: PolicyEnv, o: ExpectedAttentionOptions): Float32Array {
  const rope = env.rope;
  if (!rope) throw new Error('expected-attention: needs the model’s RoPE (PolicyEnv.rope); bind the policy to a model (createPolicy / the runner)');
  if (rope.axes !== 1) throw new Error(`expected-attention: only 1-D RoPE is supported; this model's RoPE has ${rope.axes} position axes (multimodal RoPE)`);
  const recent = ctx.stats.recentQueries;
  if (!recent) throw new Error('expected-attention: statistic "recentQueries" is missing; the policy’s needs must request it');
  const v = ctx.view;
  const d = v.headDim;
  const len = v.length(h);
  const G = v.groupSize;
  const qHeads = v.kvHeads * G;
  const keys = v.keys(h);
  const s = Math.min(o.sinks, len);
  const out = new Float32Array(len);
  const from = recent.positions.reduce((m, p) => Math.max(m, p), -1) + 1;
  const logits = new Float64Array(len);
  for (let g = 0; g < G; g++) {
    const m = futureQueryMoments(recent, h * G + g, qHeads, d, rope, from, o);
    if (!m) continue;
    let max = -Infinity;
    for (let j = s; j < len; j++) {
      const k = keys.subarray(j * d, (j + 1) * d);
      let z = 0;
      for (let c = 0; c < d; c++) z += k[c]! * m.mu[c]!;
      z /= Math.sqrt(d);
      if (m.sigma) {
        let quad = 0;
        for (let a = 0; a < d; a++) {
          let row = 0;
          for (let b = 0; b < d; b++) row += m.sigma[a * d + b]! * k[b]!;
          quad += k[a]! * row;
        }
        z += quad / (2 * d);
      }
      logits[j] = z;
      if (z > max) max = z;
    }
    let sum = 0;
    for (let j = s; j < len; j++) sum += Math.exp(logits[j]! - max);
    for (let j = s; j < len; j++) out[j] += Math.exp(logits[j]! - max) / sum / G;
  }
  if (o.valueNorm) {
    const norms = rowNorms(v.values(h).subarray(0, len * d), d);
    for (let j = s; j < len; j++) out[j] = (out[j]! + o.epsilon) * norms[j]!;
  }
  for (let j = 0; j < s; j++) out[j] = Infinity;
  return out;
}

export const expectedAttention = definePolicy({
  name: 'expected-attention',
  title: 'ExpectedAttention',
  kind: 'eviction',
  paper: { title: 'Expected Attention: KV Cache Compression by Estimating Attention from Future Queries Distribution', arxiv: '2510.00636' },
  summary: 'Scores keys by the attention that future queries are expected to give them: a Gaussian of recent queries, RoPE-rotated to future positions, times ‖v‖.',
  options: expectedAttentionOptions,
  create(o, env) {
    return {
      name: 'expected-attention',
      needs: { recentQueries: o.window },
      plan: (ctx) => planPerHead(ctx, (h, len) => keepTopWithRecent(expectedAttentionScores(ctx, h, env, o), len, ctx.budget, o.keepRecent)),
    };
  },
});
