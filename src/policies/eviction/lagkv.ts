/**
 * LagKV — "LagKV: Lag-Relative Information of the KV Cache Tells Which Tokens Are Important"
 * (Liang et al., arXiv 2504.04704). Attention-free: after `sinks` leading slots the head is cut
 * into partitions of `lag` slots; each partition's keys and values are min–max normalised per
 * channel by the *next* partition's range, and a token's score is the softmax (within its
 * partition) of the standard deviation over channels, averaged over K and V. The last
 * partition plus the remainder (no successor) and the sinks are always kept.
 * Ours, following kvpress's LagKVPress: scores become within-partition ranks / lag (so every
 * partition keeps about the same share; `crossScoring` keeps the raw softmax instead); the std
 * is the sample std (n − 1); a channel with an empty reference range (max = min) normalises to
 * 0 (the code divides by zero); heads shorter than sinks + 2·lag get a ramp (recent first).
 */
import { z } from 'zod';
import { definePolicy } from '../registry.js';
import type { LayerView } from '../../cache/policy-api.js';
import { planPerHead } from '../parts/compose.js';
import { topK } from '../parts/select.js';

export const lagKVOptions = z.object({
  sinks: z.number().int().min(0).default(4).describe('leading slots always kept (attention sinks)'),
  lag: z.number().int().min(2).default(128).describe('partition length: each partition is scored against the next one’s key/value range'),
  crossScoring: z.boolean().default(false).describe('rank by the raw softmax scores across partitions instead of within-partition ranks'),
});
export type LagKVOptions = z.output<typeof lagKVOptions>;

/** Softmax over one partition of the per-token channel std of x normalised by ref's range. */
function partitionScores(rows: Float32Array, d: number, start: number, lag: number): Float64Array {
  const lo = new Float64Array(d).fill(Infinity);
  const hi = new Float64Array(d).fill(-Infinity);
  for (let j = start + lag; j < start + 2 * lag; j++) {
    for (let c = 0; c < d; c++) {
      const x = rows[j * d + c]!;
      if (x < lo[c]!) lo[c] = x;
      if (x > hi[c]!) hi[c] = x;
    }
  }
  const std = new Float64Array(lag);
  for (let t = 0; t < lag; t++) {
    const o = (start + t) * d;
    let sum = 0;
    let sq = 0;
    for (let c = 0; c < d; c++) {
      const span = hi[c]! - lo[c]!;
      const x = span > 0 ? (rows[o + c]! - lo[c]!) / span : 0;
      sum += x;
      sq += x * x;
    }
    std[t] = d > 1 ? Math.sqrt(Math.max(0, (sq - (sum * sum) / d) / (d - 1))) : 0;
  }
  const max = std.reduce((a, b) => Math.max(a, b), -Infinity);
  let z = 0;
  for (let t = 0; t < lag; t++) z += Math.exp(std[t]! - max);
  return std.map((s) => Math.exp(s - max) / z);
}

/** Rank of each entry (0 = smallest; ties → lower index first) divided by n. */
function normalisedRanks(x: Float64Array): Float64Array {
  const order = Array.from(x.keys()).sort((a, b) => x[a]! - x[b]! || a - b);
  const out = new Float64Array(x.length);
  order.forEach((i, r) => (out[i] = r / x.length));
  return out;
}

/**
 * LagKV scores of KV head h: [len] f32. Sinks and the tail (last partition + remainder) get
 * 1 (kept first); scored partitions get values in [0, 1). Short heads get a ramp over the
 * non-sink slots, so the most recent are kept.
 */
export function lagKVScores(view: LayerView, h: number, o: LagKVOptions): Float32Array {
  const d = view.headDim;
  const len = view.length(h);
  const out = new Float32Array(len).fill(1);
  if (len < o.sinks + 2 * o.lag) {
    for (let j = o.sinks; j < len; j++) out[j] = (j - o.sinks) / (len - o.sinks);
    return out;
  }
  const parts = Math.floor((len - o.sinks) / o.lag) - 1; // partitions with a successor
  const keys = view.keys(h);
  const values = view.values(h);
  for (let p = 0; p < parts; p++) {
    const start = o.sinks + p * o.lag;
    const k = partitionScores(keys, d, start, o.lag);
    const v = partitionScores(values, d, start, o.lag);
    const mixed = k.map((x, t) => (x + v[t]!) / 2);
    const s = o.crossScoring ? mixed : normalisedRanks(mixed);
    for (let t = 0; t < o.lag; t++) out[start + t] = s[t]!;
  }
  return out;
}

export const lagKV = definePolicy({
  name: 'lagkv',
  title: 'LagKV',
  kind: 'eviction',
  paper: { title: 'LagKV: Lag-Relative Information of the KV Cache Tells Which Tokens Are Important', arxiv: '2504.04704' },
  summary: 'Attention-free: scores each partition of tokens by its spread relative to the next partition’s key/value range; sinks and the recent partition are kept.',
  options: lagKVOptions,
  create(o) {
    return {
      name: 'lagkv',
      needs: {},
      plan: (ctx) => planPerHead(ctx, (h) => topK(lagKVScores(ctx.view, h, o), ctx.budget)),
    };
  },
});
