/**
 * AccKV (arXiv 2511.11106), steps 5–6, cross-calibration: intra-modal merging of the dropped
 * media slots into kept slots of the same modality, then eviction of kept low-priority slots
 * whose keys do not align with the high-priority anchors:
 *   c_q = agg_{p ∈ anchors} cos(k_q, k_p),  keep q iff c_q ≥ τ      (agg = mean | max)
 *
 * Ours [INF]: the merge target is the most key-similar kept slot of the same modality (the
 * notes' reading (a)), variant 'average' by default; cosines use the cached (post-RoPE) keys
 * as they were before this plan; c_q of 'mean' is computed as k̂_q · mean(k̂_p) (identical to
 * the mean of cosines, O(d) per slot); with no kept anchor nothing is evicted; a slot evicted
 * in step 6 loses what step 5 merged into it (the paper merges, then evicts).
 */
import { mergeIntoNearest, type MergeVariant } from '../parts/merge.js';
import { cosineAt, rowNorms } from '../parts/similarity.js';
import type { MergeOp } from '../../cache/policy-api.js';

export type CalibrationAggregation = 'mean' | 'max';

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
 * c_q for every slot of `low` against the anchors: [low.length] cosine aggregates.
 * keys: [len][headDim] f32.
 */
export function anchorAlignment(
  keys: Float32Array,
  headDim: number,
  low: Int32Array,
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
  const mean = new Float64Array(headDim);
  for (const p of anchors) {
    const n = norms[p]!;
    if (n > 0) for (let d = 0; d < headDim; d++) mean[d] += keys[p * headDim + d]! / n;
  }
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

/** The slots of `low` that pass: c_q ≥ τ (all of them when there is no anchor). */
export function calibrate(
  keys: Float32Array,
  headDim: number,
  low: Int32Array,
  anchors: Int32Array,
  tau: number,
  aggregation: CalibrationAggregation,
): Int32Array {
  if (anchors.length === 0) return low;
  const c = anchorAlignment(keys, headDim, low, anchors, aggregation);
  return low.filter((_, i) => c[i]! >= tau);
}
