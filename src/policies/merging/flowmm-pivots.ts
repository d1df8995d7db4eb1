/**
 * FlowMM (arXiv 2511.05534), Eqs. 8–10: proxy-token importance, pivots, and the
 * sensitivity-gated nearest-pivot assignment.
 *   I(j) = Σ_{i∈P} α_{i→j}  (P = the last nProxy prompt tokens: the `window` statistic, w = nProxy)
 *   pivots = top-B by I;   j*(i) = argmax_{j ∈ pivots, I_j ≤ τ [, same modality]} cos(k_i, k_j)
 *
 * Ours [INF]: the proxy tokens are always pivots (as SnapKV keeps its window); τ is by default
 * a quantile of I over the pivots (τ = the (1−q) quantile protects the top q of pivots), or an
 * absolute value; a non-pivot without an admissible pivot is dropped and counted.
 */
import { mergeIntoNearest, type MergeVariant } from '../parts/merge.js';
import { keepTopWithRecent } from '../parts/select.js';
import type { MergeOp } from '../../cache/policy-api.js';
import { quantile } from '../multimodal/modality-groups.js';
import type { MergeStrategy } from './flowmm-flow.js';

export type TauMode = 'quantile' | 'absolute';

/** Pivots of one head: the proxies (when kept) plus top-(budget − proxies) by importance. */
export function selectPivots(importance: ArrayLike<number>, len: number, budget: number, nProxy: number, keepProxy: boolean): Int32Array {
  return keepTopWithRecent(importance, len, budget, keepProxy ? nProxy : 0);
}

/** τ for one head: absolute value, or the (1 − value) quantile of I over the pivots. */
export function sensitivityThreshold(importance: ArrayLike<number>, pivots: Int32Array, mode: TauMode, value: number): number {
  if (mode === 'absolute') return value;
  return quantile(Array.from(pivots, (j) => importance[j]!), 1 - value);
}

export interface PivotMerges {
  merges: MergeOp[];
  /** Non-pivots that found no admissible pivot and were dropped. */
  unmatched: number;
}

/**
 * Each non-pivot goes to its most key-similar eligible pivot (of its own modality when the
 * strategy is 'intra'). keys: [len][headDim] f32; modality: [len] codes; weights: [len].
 */
export function mergeIntoPivots(
  keys: Float32Array,
  headDim: number,
  nonPivots: Int32Array,
  eligible: Int32Array,
  modality: Uint8Array,
  strategy: MergeStrategy,
  variant: MergeVariant,
  weights: ArrayLike<number>,
): PivotMerges {
  const merges: MergeOp[] = [];
  if (strategy === 'cross') {
    merges.push(...mergeIntoNearest(keys, headDim, nonPivots, eligible, variant, { weights }));
  } else {
    const codes = new Set<number>(Array.from(nonPivots, (j) => modality[j]!));
    for (const m of [...codes].sort((a, b) => a - b)) {
      const from = nonPivots.filter((j) => modality[j] === m);
      const into = eligible.filter((j) => modality[j] === m);
      merges.push(...mergeIntoNearest(keys, headDim, from, into, variant, { weights }));
    }
    merges.sort((a, b) => a.into - b.into);
  }
  let matched = 0;
  for (const op of merges) matched += op.from.length;
  return { merges, unmatched: nonPivots.length - matched };
}
