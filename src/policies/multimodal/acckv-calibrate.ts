/**
 * AccKV (arXiv 2511.11106), steps 5–6, cross-calibration: intra-modal merging of the dropped
 * media slots into kept slots of the same modality, then eviction of kept low-priority slots
 * whose keys do not align with the high-priority anchors:
 *   c_q = agg_{p ∈ anchors} cos(k_q, k_p),  keep q iff c_q ≥ threshold      (agg = max | mean)
 *
 * Thresholds [INF]: 'absolute' is the notes' reading (threshold = τ). 'relative' scales τ by
 * the anchors' own coherence, threshold = τ·c_ref with c_ref = the mean over anchors p of
 * agg_{p' ≠ p} cos(k_p, k_p') (leave-one-out, same aggregation): a low-priority key must
 * align with the anchors at least τ times as well as the anchors align with each other.
 * Why it matters: the mean cosine to the anchors equals k̂_q · mean(k̂_p), which is bounded by
 * ‖mean(k̂_p)‖, and post-RoPE keys at many positions point in many directions, so that norm is
 * small and a key aligned with one anchor can still fall below an absolute τ = 0.6 or 0.9;
 * max (nearest anchor) or a relative threshold removes that bound.
 *
 * Ours [INF]: the merge target is the most key-similar kept slot of the same modality (the
 * notes' reading (a)), variant 'average' by default; cosines use the cached (post-RoPE) keys
 * as they were before this plan; c_q of 'mean' is computed as k̂_q · mean(k̂_p) (identical to
 * the mean of cosines, O(d) per slot); with no kept anchor nothing is evicted.
 */
import { mergeIntoNearest, type MergeVariant } from '../parts/merge.js';
import { cosineAt, rowNorms } from '../parts/similarity.js';
import type { MergeOp } from '../../cache/policy-api.js';

export type CalibrationAggregation = 'mean' | 'max';
export type CalibrationThreshold = 'absolute' | 'relative';

/**
 * One MergeOp list per media modality, never across modalities: for each code m, the dropped
 * slots of m go into the kept slots of m. keys: [len][headDim] f32; weights: [len] slot weights.
 */
export function intraModalMerges(
  keys: Float32Array,
  headDim: number,
  kept: Int32Array[],
  dropped: Int32Array[],
  variant: MergeVariant,
  weights: ArrayLike<number>,
): MergeOp[] {
  const ops: MergeOp[] = [];
  for (let m = 0; m < kept.length; m++) {
    if (dropped[m]!.length > 0 && kept[m]!.length > 0) {
      ops.push(...mergeIntoNearest(keys, headDim, dropped[m]!, kept[m]!, variant, { weights }));
    }
  }
  return ops;
}

/**
 * c_q for every slot of `low` against the anchors: [low.length] cosine aggregates (NaN
 * without anchors). keys: [len][headDim] f32.
 */
export function anchorAlignment(
  keys: Float32Array,
  headDim: number,
  low: ArrayLike<number>,
  anchors: Int32Array,
  aggregation: CalibrationAggregation,
): Float32Array {
  const out = new Float32Array(low.length);
  if (anchors.length === 0) return out.fill(Number.NaN);
  const norms = rowNorms(keys, headDim);
  if (aggregation === 'max') {
    for (let i = 0; i < low.length; i++) {
      let best = -Infinity;
      for (const p of anchors) best = Math.max(best, cosineAt(keys, headDim, low[i]!, p, norms));
      out[i] = best;
    }
    return out;
  }
  const mean = unitSum(keys, headDim, anchors, norms);
  for (let d = 0; d < headDim; d++) mean[d] /= anchors.length;
  for (let i = 0; i < low.length; i++) {
    const q = low[i]!;
    const n = norms[q]!;
    let dot = 0;
    for (let d = 0; d < headDim; d++) dot += keys[q * headDim + d]! * mean[d]!;
    out[i] = n > 0 ? dot / n : 0;
  }
  return out;
}

/**
 * c_ref: the mean over anchors of their leave-one-out aggregate cosine to the other anchors
 * (NaN with fewer than two anchors). keys: [len][headDim] f32.
 */
export function anchorCoherence(keys: Float32Array, headDim: number, anchors: Int32Array, aggregation: CalibrationAggregation): number {
  const n = anchors.length;
  if (n < 2) return Number.NaN;
  const norms = rowNorms(keys, headDim);
  if (aggregation === 'mean') {
    // Σ_{p ≠ p'} cos = ‖Σ k̂_p‖² − Σ ‖k̂_p‖², over n(n − 1) ordered pairs.
    const sum = unitSum(keys, headDim, anchors, norms);
    let sq = 0;
    for (let d = 0; d < headDim; d++) sq += sum[d]! * sum[d]!;
    let self = 0;
    for (const p of anchors) self += norms[p]! > 0 ? 1 : 0;
    return (sq - self) / (n * (n - 1));
  }
  let total = 0;
  for (let a = 0; a < n; a++) {
    let best = -Infinity;
    for (let b = 0; b < n; b++) if (b !== a) best = Math.max(best, cosineAt(keys, headDim, anchors[a]!, anchors[b]!, norms));
    total += best;
  }
  return total / n;
}

/** The threshold c_q is compared with: τ, or τ·c_ref (τ when c_ref is undefined). */
export function calibrationThreshold(
  keys: Float32Array,
  headDim: number,
  anchors: Int32Array,
  tau: number,
  aggregation: CalibrationAggregation,
  mode: CalibrationThreshold,
): number {
  if (mode === 'absolute') return tau;
  const ref = anchorCoherence(keys, headDim, anchors, aggregation);
  return Number.isNaN(ref) ? tau : tau * ref;
}

/** The slots of `low` that pass: c_q ≥ threshold (all of them when there is no anchor). */
export function calibrate(
  keys: Float32Array,
  headDim: number,
  low: Int32Array,
  anchors: Int32Array,
  threshold: number,
  aggregation: CalibrationAggregation,
): Int32Array {
  if (anchors.length === 0) return low;
  const c = anchorAlignment(keys, headDim, low, anchors, aggregation);
  return low.filter((_, i) => c[i]! >= threshold);
}

function unitSum(keys: Float32Array, headDim: number, slots: Int32Array, norms: Float32Array): Float64Array {
  const sum = new Float64Array(headDim);
  for (const p of slots) {
    const n = norms[p]!;
    if (n > 0) for (let d = 0; d < headDim; d++) sum[d] += keys[p * headDim + d]! / n;
  }
  return sum;
}
