/**
 * Merging evicted slots into kept ones (LOOK-M family, reused by MEDA, D2O, FlowMM, AccKV).
 *
 * A MergeOp (src/policies/types.ts) with `normalize` (the default) computes
 *   x[t] ← (selfCoef·x[t] + Σ coef_i·x[e_i]) / (selfCoef + Σ coef_i)
 * reading the cache before the plan. How each LOOK-M variant maps (slot weights w, default 1;
 * target t with bucket of evicted e_1..e_n; s_i = cos(k[e_i], k[t])):
 * - 'average'  LOOK-M code: scatter_reduce(mean, include_self) of the evicted into the target:
 *              x[t] = (t + Σ e_i)/(1+n). Ours: coef = w_i, selfCoef = w_t (token-count mean;
 *              identical when every weight is 1).
 * - 'pivotal'  code: each e_i is first averaged with its target, p_i = (e_i + t)/2, then the
 *              scatter-mean above: x[t] = (t + Σ (e_i+t)/2)/(1+n). Ours: coef_i = w_i/2,
 *              selfCoef = w_t + Σ w_i/2 — the same number when weights are 1.
 * - 'weighted' code: scatter-mean of s_i·e_i, i.e. (t + Σ s_i e_i)/(1+n), which is not a convex
 *              combination (it shrinks x[t] when s_i < 1). Ours: coef_i = w_i·max(s_i, 0),
 *              selfCoef = w_t: the similarity-weighted mean (t + Σ s_i e_i)/(1 + Σ s_i), so the
 *              merged slot stays a mean and its weight stays a token count. [INF, documented]
 */
import type { MergeOp } from '../../cache/policy-api.js';
import { cosineNearest, rowNorms } from './similarity.js';

export type MergeVariant = 'average' | 'pivotal' | 'weighted';

export const MERGE_VARIANTS: readonly MergeVariant[] = ['average', 'pivotal', 'weighted'];

export interface MergeIntoNearestOptions {
  /**
   * Only evicted slots whose best similarity is ≥ this merge; the others are dropped. 'mean':
   * the mean of the best similarities of this call (LOOK-M's filter). Default: merge all.
   */
  minSimilarity?: number | 'mean';
  /** Candidate targets per evicted slot (e.g. same modality only); default: all kept slots. */
  candidatesOf?: (slot: number) => ArrayLike<number>;
  /** Slot weights (TokenMeta.weight) [len]; default 1 each. */
  weights?: ArrayLike<number>;
}

/** One merge target and the evicted slots assigned to it (with their best similarities). */
export interface MergeBucket {
  into: number;
  from: number[];
  similarity: number[];
}

/**
 * Each evicted slot goes to its most key-cosine-similar kept slot (or candidate). keys:
 * [len][headDim] f32. Evicted slots without a candidate, or below minSimilarity, are left out.
 * Returns buckets sorted by target, `from` ascending. Also returns every evicted slot's best
 * similarity (-Infinity without candidates), for thresholds kept across calls (D2O).
 */
export function nearestBuckets(
  keys: Float32Array,
  headDim: number,
  evicted: ArrayLike<number>,
  kept: ArrayLike<number>,
  opts: Pick<MergeIntoNearestOptions, 'minSimilarity' | 'candidatesOf'> = {},
): { buckets: MergeBucket[]; similarity: Float32Array } {
  const target = new Int32Array(evicted.length).fill(-1);
  const similarity = new Float32Array(evicted.length).fill(-Infinity);
  if (evicted.length === 0 || (kept.length === 0 && !opts.candidatesOf)) return { buckets: [], similarity };
  const norms = rowNorms(keys, headDim);
  if (opts.candidatesOf) {
    for (let i = 0; i < evicted.length; i++) {
      const r = cosineNearest(keys, headDim, [evicted[i]!], opts.candidatesOf(evicted[i]!), norms);
      target[i] = r.target[0]!;
      similarity[i] = r.similarity[0]!;
    }
  } else {
    const r = cosineNearest(keys, headDim, evicted, kept, norms);
    target.set(r.target);
    similarity.set(r.similarity);
  }
  const threshold = resolveThreshold(opts.minSimilarity, similarity, target);
  const byTarget = new Map<number, MergeBucket>();
  for (let i = 0; i < evicted.length; i++) {
    if (target[i]! < 0 || !(similarity[i]! >= threshold)) continue;
    let b = byTarget.get(target[i]!);
    if (!b) byTarget.set(target[i]!, (b = { into: target[i]!, from: [], similarity: [] }));
    b.from.push(evicted[i]!);
    b.similarity.push(similarity[i]!);
  }
  const buckets = [...byTarget.values()].sort((a, b) => a.into - b.into);
  for (const b of buckets) sortBucket(b);
  return { buckets, similarity };
}

function sortBucket(b: MergeBucket): void {
  const order = b.from.map((_, i) => i).sort((x, y) => b.from[x]! - b.from[y]!);
  b.from = order.map((i) => b.from[i]!);
  b.similarity = order.map((i) => b.similarity[i]!);
}

/**
 * Each evicted slot goes to its most key-cosine-similar kept slot; one MergeOp per target
 * (from ascending), coefficients per LOOK-M variant (see the header). keys: [len][headDim] f32.
 * Evicted slots without a candidate, or below minSimilarity, are dropped (no op).
 */
export function mergeIntoNearest(
  keys: Float32Array,
  headDim: number,
  evicted: ArrayLike<number>,
  kept: ArrayLike<number>,
  variant: MergeVariant,
  opts: MergeIntoNearestOptions = {},
): MergeOp[] {
  if (!MERGE_VARIANTS.includes(variant)) {
    throw new RangeError(`mergeIntoNearest: variant must be one of ${MERGE_VARIANTS.join(' | ')}; got "${String(variant)}"`);
  }
  const w = (slot: number): number => (opts.weights ? opts.weights[slot]! : 1);
  return nearestBuckets(keys, headDim, evicted, kept, opts).buckets.map((b) => mergeOpFor(variant, b.into, b.from, b.similarity, w));
}

/** The MergeOp of one target and its bucket under a LOOK-M variant (see the header). */
export function mergeOpFor(
  variant: MergeVariant,
  into: number,
  from: readonly number[],
  similarity: readonly number[],
  weightOf: (slot: number) => number = () => 1,
): MergeOp {
  const fromArr = Int32Array.from(from);
  const wt = weightOf(into);
  switch (variant) {
    case 'average':
      return { into, from: fromArr, coef: Float32Array.from(from, (e) => weightOf(e)), selfCoef: wt };
    case 'pivotal': {
      const coef = Float32Array.from(from, (e) => weightOf(e) / 2);
      let half = 0;
      for (const c of coef) half += c;
      return { into, from: fromArr, coef, selfCoef: wt + half };
    }
    case 'weighted':
      return { into, from: fromArr, coef: Float32Array.from(from, (e, i) => weightOf(e) * Math.max(0, similarity[i]!)), selfCoef: wt };
  }
}

function resolveThreshold(min: number | 'mean' | undefined, similarity: Float32Array, target: Int32Array): number {
  if (min === undefined) return -Infinity;
  if (min !== 'mean') {
    if (!Number.isFinite(min)) throw new RangeError(`mergeIntoNearest: minSimilarity must be a finite number or "mean"; got ${min}`);
    return min;
  }
  let s = 0;
  let n = 0;
  for (let i = 0; i < similarity.length; i++) {
    if (target[i]! >= 0) {
      s += similarity[i]!;
      n++;
    }
  }
  return n > 0 ? s / n : Infinity;
}
