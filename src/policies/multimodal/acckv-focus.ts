/**
 * AccKV (arXiv 2511.11106), steps 2–3: the redistributed score and layer-adaptive modality
 * focusing. S_j = Σ_{i≥j} α_ij·(i+1)/(L−j) is the kernels' `redistributed` statistic; the
 * focusing weight of media modality m is W_m = S̄_m / Σ_m' S̄_m' with
 * S̄_m = mean_{j∈m} Σ_{i∈text} α_ij = flows[text→m] / |m| (exact: the mean of the text-query
 * column sums over the slots of m), which generalises W_v/W_a to any number of media spans.
 *
 * Ours [INF]: raw (not redistributed) attention for S̄ (the notes' "safest reading"); weights
 * per layer (summed over KV heads) by default, per head as an option; when S̄ is zero for every
 * modality (no text query after the media) the weights are uniform; ties and the no-focusing
 * ablation take the priority order video > image > audio (the paper's observation that upper
 * layers drift towards video).
 */
import { FLOW_STRIDE } from '../../attention/stats.js';
import { ModalityCode, NUM_MODALITIES } from '../../cache/modality.js';
import { MEDIA_CODES } from './modality-groups.js';

/** Priority order used for ties and when focusing is switched off. */
export const FALLBACK_PRIORITY: readonly number[] = [ModalityCode.video, ModalityCode.image, ModalityCode.audio];

export interface Focus {
  /** [NUM_MODALITIES] multiplier of each modality's scores (text 1, absent media 0). */
  weights: Float64Array;
  /** The high-priority media modality (anchors of cross-calibration); -1 without media. */
  priority: number;
}

/**
 * flows: M×M mass (summed over the heads in scope); counts: [M] slots of each modality over
 * the same heads. With `enabled` false every weight is 1 and the priority is the fallback.
 */
export function focusingWeights(flows: Float64Array, counts: ArrayLike<number>, enabled: boolean): Focus {
  const weights = new Float64Array(NUM_MODALITIES);
  weights[ModalityCode.text] = 1;
  const present = MEDIA_CODES.filter((m) => counts[m]! > 0);
  if (present.length === 0) return { weights, priority: -1 };
  const fallback = FALLBACK_PRIORITY.find((m) => counts[m]! > 0) ?? present[0]!;
  if (!enabled) {
    for (const m of present) weights[m] = 1;
    return { weights, priority: fallback };
  }
  const mean = present.map((m) => flows[ModalityCode.text * FLOW_STRIDE + m]! / counts[m]!);
  const total = mean.reduce((a, b) => a + b, 0);
  present.forEach((m, i) => (weights[m] = total > 0 ? mean[i]! / total : 1 / present.length));
  let priority = fallback;
  for (const m of present) {
    if (weights[m]! > weights[priority]! + 1e-12) priority = m;
  }
  return { weights, priority };
}

/** Ŝ_j = W_{mod j}·S_j: scores [len] any unit, modality [len] codes. */
export function focusScores(scores: ArrayLike<number>, modality: Uint8Array, weights: Float64Array): Float32Array {
  const out = new Float32Array(scores.length);
  for (let j = 0; j < out.length; j++) out[j] = weights[modality[j]!]! * scores[j]!;
  return out;
}
