/**
 * AccKV (arXiv 2511.11106), steps 2–3: the redistributed score and layer-adaptive modality
 * focusing. S_j = Σ_{i≥j} α_ij·(i+1)/(L−j) is the kernels' `redistributed` statistic; the
 * focusing weight of media modality m is W_m = S̄_m / Σ_m' S̄_m', where S̄_m aggregates the
 * text-query column sums c_j = Σ_{i∈text} α_ij over the slots j of m. Two aggregates:
 * - 'token-mean' (the notes' literal reading): S̄_m = mean_{j∈m} c_j = flows[text→m] / |m|.
 *   It favours the smaller modality: text attention concentrates on a few evidence slots, so
 *   the mass a modality receives does not grow with its slot count, and dividing by |m| gives
 *   e.g. 400 audio slots a larger mean than 640 video slots that hold the same mass.
 * - 'matched-top' (default): S̄_m = mean of the k largest c_j of m, with the same k for every
 *   modality (k = the slot count of the smallest media modality present): each modality is
 *   judged by equally many of its best slots, so neither its size nor a long, weakly attended
 *   tail decides. Under uniform attention both aggregates give equal weights.
 * Both are summed over the KV heads in scope (per layer by default).
 *
 * Ours [INF]: raw (not redistributed) attention for S̄ (the notes' "safest reading"); when S̄
 * is zero for every modality (no text query after the media) the weights are uniform; ties and
 * the no-focusing ablation take the priority order video > image > audio (the paper's
 * observation that upper layers drift towards video).
 */
import { FLOW_STRIDE } from '../../attention/stats.js';
import { ModalityCode, NUM_MODALITIES } from '../../cache/modality.js';
import { MEDIA_CODES } from './modality-groups.js';

/** Priority order used for ties and when focusing is switched off. */
export const FALLBACK_PRIORITY: readonly number[] = [ModalityCode.video, ModalityCode.image, ModalityCode.audio];

export type FocusMeasure = 'matched-top' | 'token-mean';

export interface Focus {
  /** [NUM_MODALITIES] multiplier of each modality's scores (text 1, absent media 0). */
  weights: Float64Array;
  /** The high-priority media modality (anchors of cross-calibration); -1 without media. */
  priority: number;
}

/**
 * Weights from per-modality aggregates S̄ ([NUM_MODALITIES], any non-negative unit) and slot
 * counts ([M], over the heads in scope). With `enabled` false every weight is 1 and the
 * priority is the fallback.
 */
export function weightsFromAggregates(aggregate: ArrayLike<number>, counts: ArrayLike<number>, enabled: boolean): Focus {
  const weights = new Float64Array(NUM_MODALITIES);
  weights[ModalityCode.text] = 1;
  const present = MEDIA_CODES.filter((m) => counts[m]! > 0);
  if (present.length === 0) return { weights, priority: -1 };
  const fallback = FALLBACK_PRIORITY.find((m) => counts[m]! > 0) ?? present[0]!;
  if (!enabled) {
    for (const m of present) weights[m] = 1;
    return { weights, priority: fallback };
  }
  const total = present.reduce((a, m) => a + aggregate[m]!, 0);
  for (const m of present) weights[m] = total > 0 ? aggregate[m]! / total : 1 / present.length;
  let priority = fallback;
  for (const m of present) {
    if (weights[m]! > weights[priority]! + 1e-12) priority = m;
  }
  return { weights, priority };
}

/**
 * 'token-mean' focusing from M×M flows (summed over the heads in scope) and slot counts [M]
 * over the same heads: S̄_m = flows[text→m] / |m|.
 */
export function focusingWeights(flows: Float64Array, counts: ArrayLike<number>, enabled: boolean): Focus {
  const aggregate = new Float64Array(NUM_MODALITIES);
  for (const m of MEDIA_CODES) if (counts[m]! > 0) aggregate[m] = flows[ModalityCode.text * FLOW_STRIDE + m]! / counts[m]!;
  return weightsFromAggregates(aggregate, counts, enabled);
}

/**
 * 'matched-top' aggregates of one KV head: for each media code m, Σ of the k largest
 * textColumn values of m divided by k, k = the smallest non-zero media slot count of this
 * head. textColumn: [len] Σ over text query rows; modality: [len] codes. Adds into `out` [M].
 */
export function addMatchedTopMeans(textColumn: ArrayLike<number>, modality: Uint8Array, len: number, out: Float64Array): void {
  const byModality: number[][] = Array.from({ length: NUM_MODALITIES }, () => []);
  for (let j = 0; j < len; j++) byModality[modality[j]!]!.push(textColumn[j]!);
  const sizes = MEDIA_CODES.map((m) => byModality[m]!.length).filter((n) => n > 0);
  if (sizes.length === 0) return;
  const k = Math.min(...sizes);
  for (const m of MEDIA_CODES) {
    const c = byModality[m]!;
    if (c.length === 0) continue;
    c.sort((a, b) => b - a);
    let s = 0;
    for (let i = 0; i < k; i++) s += c[i]!;
    out[m]! += s / k;
  }
}

/** Ŝ_j = W_{mod j}·S_j: scores [len] any unit, modality [len] codes. */
export function focusScores(scores: ArrayLike<number>, modality: Uint8Array, weights: Float64Array): Float32Array {
  const out = new Float32Array(scores.length);
  for (let j = 0; j < out.length; j++) out[j] = weights[modality[j]!]! * scores[j]!;
  return out;
}
