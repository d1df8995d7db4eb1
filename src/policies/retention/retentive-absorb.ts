/**
 * RetentiveKV (arXiv 2605.04075): which evicted slots enter the state-space memory, how
 * strongly, and with which per-token transition.
 *
 * Ours [INF], each an option of the policy:
 * - absorption gate: entropy ≥ the q-quantile of the evicted slots of the same entropy group
 *   (q = 0.5); 'distribution' mode: the top ⌈f·n⌉ by α of each group, f = the group's
 *   normalised distribution entropy; entropy off: every evicted slot.
 * - grid decay γ_s^{|r−r0|+|c−c0|} of a visual write around the root patch = the highest-R
 *   patch of the same frame ('frame', default: a video's frames are separate images) or of the
 *   whole segment ('segment', the earlier reading: one root per video).
 * - per-token transition h_i = σ(w·H̃_i + b), H̃_i = H_i / the largest H of slot i's entropy
 *   group ∈ [0, 1] (raw −p log p is ≈ log n / n for a long clip, so σ(w·H_i) would be ≈ σ(0)
 *   for every token whatever its entropy), w = 8, b = 0: high-entropy tokens keep what the
 *   state holds, low-entropy ones let it fade. Slots are written in position order — the
 *   order in which they would leave a sliding window.
 */
import { isVisualCode } from '../../cache/modality.js';
import type { TokenMeta } from '../../cache/token-meta.js';
import { quantile } from '../multimodal/modality-groups.js';
import { groupDistributionEntropy, type EntropyMode } from './retentive-scores.js';

export type GridRoot = 'frame' | 'segment';

/** The evicted slots to absorb, ascending (position order). evicted: ascending slot ids. */
export function chooseAbsorbed(
  evicted: Int32Array,
  alpha: ArrayLike<number>,
  entropy: Float32Array,
  group: Uint8Array,
  len: number,
  o: { useEntropy: boolean; entropyMode: EntropyMode; absorbQuantile: number },
): Int32Array {
  if (!o.useEntropy) return evicted;
  const ids = [...new Set(Array.from(evicted, (j) => group[j]!))];
  const groups = ids.map((g) => evicted.filter((j) => group[j] === g));
  const chosen: number[] = [];
  if (o.entropyMode === 'token') {
    for (const g of groups) {
      const cut = quantile(Array.from(g, (j) => entropy[j]!), o.absorbQuantile);
      for (const j of g) if (entropy[j]! >= cut) chosen.push(j);
    }
  } else {
    const f = groupDistributionEntropy(alpha, group, len);
    groups.forEach((g, gi) => {
      const take = Math.ceil(f[ids[gi]!]! * g.length);
      const byAlpha = Array.from(g).sort((a, b) => alpha[b]! - alpha[a]! || a - b);
      chosen.push(...byAlpha.slice(0, take));
    });
  }
  return Int32Array.from(chosen).sort();
}

/** Key of the image a patch belongs to: its segment, and with 'frame' its frame time too. */
function imageKey(meta: TokenMeta, j: number, root: GridRoot): string {
  const t = meta.time[j]!;
  return root === 'frame' && !Number.isNaN(t) ? `${meta.segment[j]}@${t}` : `${meta.segment[j]}`;
}

/**
 * Grid decay of each absorbed slot: γ^{|r−r0|+|c−c0|} for visual patches (row, col ≥ 0), where
 * (r0, c0) is the highest-score patch of the same image (frame or segment) among all len slots;
 * 1 for everything else. Returns [absorbed.length].
 */
export function gridDecay(absorbed: Int32Array, score: ArrayLike<number>, meta: TokenMeta, len: number, gamma: number, root: GridRoot): Float32Array {
  const roots = new Map<string, number>();
  const isPatch = (j: number): boolean => isVisualCode(meta.modality[j]!) && meta.row[j]! >= 0 && meta.col[j]! >= 0;
  for (let j = 0; j < len; j++) {
    if (!isPatch(j)) continue;
    const key = imageKey(meta, j, root);
    const r = roots.get(key);
    if (r === undefined || score[j]! > score[r]!) roots.set(key, j);
  }
  return Float32Array.from(absorbed, (j) => {
    if (!isPatch(j) || gamma === 1) return 1;
    const r = roots.get(imageKey(meta, j, root))!;
    return gamma ** (Math.abs(meta.row[j]! - meta.row[r]!) + Math.abs(meta.col[j]! - meta.col[r]!));
  });
}

/**
 * Per-token transition h_i = σ(weight·H̃_i + bias) of each absorbed slot, H̃_i = H_i / max H of
 * its group over the head's len slots (0 when the group has no entropy); entropy off: 1 for
 * every slot (no entropy, no modulation: the state is the plain linear-attention sum).
 * Values are clamped to [1e-6, 1] so the state never decays to exactly 0.
 * Returns [absorbed.length].
 */
export function transitionDecay(
  absorbed: Int32Array,
  entropy: Float32Array,
  group: Uint8Array,
  len: number,
  o: { useEntropy: boolean; decayWeight: number; decayBias: number },
): Float32Array {
  const max = new Float64Array(8);
  for (let j = 0; j < len; j++) max[group[j]!] = Math.max(max[group[j]!]!, entropy[j]!);
  if (!o.useEntropy) return new Float32Array(absorbed.length).fill(1);
  return Float32Array.from(absorbed, (j) => {
    const m = max[group[j]!]!;
    const hTilde = m > 0 ? entropy[j]! / m : 0;
    const h = 1 / (1 + Math.exp(-(o.decayWeight * hTilde + o.decayBias)));
    return Math.min(1, Math.max(1e-6, h));
  });
}
