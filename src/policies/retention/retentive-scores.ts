/**
 * RetentiveKV: State-Space Memory for Uncertainty-Aware Multimodal KV Cache Eviction —
 * arXiv 2605.04075. The entropy-guided retention estimator and the absorption rule:
 *   p_i = α_i / Σ_{j∈V} α_j,  H_i = −p_i log p_i   (i ∈ V, α = text-query attention)
 *   R_i = λ·α̃_i + (1 − λ)·H̃_i                    (~ = min-max normalised per head)
 * Evicted slots whose entropy is high within their state group are absorbed into the state;
 * visual ones are written with a grid decay γ_s^{|r−r0|+|c−c0|} around the image's root patch.
 *
 * Ours [INF], each an option of the policy: min-max normalisation before mixing, λ = 0.5,
 * H = 0 for non-visual slots in R ('zero') or the text analogue; the absorption gate (entropy
 * ≥ the q-quantile of the evicted slots of the same group, q = 0.5); 'distribution' mode (R = α,
 * and the group's normalised distribution entropy sets the fraction absorbed, highest α first);
 * root patch = the highest-R visual slot of its segment; γ_s = 0.9.
 */
import { isVisualCode } from '../../cache/modality.js';
import type { TokenMeta } from '../../cache/token-meta.js';
import { minMaxNormalize, quantile } from '../multimodal/modality-groups.js';

export type EntropyMode = 'token' | 'distribution';
export type TextEntropy = 'zero' | 'analogue';

/**
 * −p log p of every slot, with p normalised inside its group (visual slots over the visual
 * slots, the others over the others). alpha: [len] attention mass ≥ 0; returns [len] nats.
 */
export function groupTokenEntropy(alpha: ArrayLike<number>, modality: Uint8Array, len: number): Float32Array {
  const sums = [0, 0];
  for (let j = 0; j < len; j++) sums[isVisualCode(modality[j]!) ? 0 : 1]! += Math.max(0, alpha[j]!);
  const out = new Float32Array(len);
  for (let j = 0; j < len; j++) {
    const s = sums[isVisualCode(modality[j]!) ? 0 : 1]!;
    const p = s > 0 ? Math.max(0, alpha[j]!) / s : 0;
    out[j] = p > 0 ? -p * Math.log(p) : 0;
  }
  return out;
}

/** Normalised distribution entropy (−Σ p log p / log n ∈ [0, 1]) of the visual (0) and other (1) groups. */
export function groupDistributionEntropy(alpha: ArrayLike<number>, modality: Uint8Array, len: number): [number, number] {
  const h = groupTokenEntropy(alpha, modality, len);
  const sum = [0, 0];
  const n = [0, 0];
  for (let j = 0; j < len; j++) {
    const g = isVisualCode(modality[j]!) ? 0 : 1;
    sum[g]! += h[j]!;
    n[g]!++;
  }
  return [0, 1].map((g) => (n[g]! > 1 ? sum[g]! / Math.log(n[g]!) : 1)) as [number, number];
}

/** R (token mode with entropy) or α (distribution mode / entropy off), both [len]. */
export function retentionScores(
  alpha: ArrayLike<number>,
  entropy: Float32Array,
  modality: Uint8Array,
  len: number,
  o: { lambda: number; useEntropy: boolean; entropyMode: EntropyMode; textEntropy: TextEntropy },
): Float32Array {
  if (!o.useEntropy || o.entropyMode === 'distribution') return Float32Array.from({ length: len }, (_, j) => alpha[j]!);
  const h = o.textEntropy === 'zero' ? entropy.map((x, j) => (isVisualCode(modality[j]!) ? x : 0)) : entropy;
  const a = minMaxNormalize(Array.from({ length: len }, (_, j) => alpha[j]!));
  const hn = minMaxNormalize(h);
  return a.map((x, j) => o.lambda * x + (1 - o.lambda) * hn[j]!);
}

/**
 * The evicted slots to absorb (ascending). token mode: group entropy ≥ the q-quantile of the
 * evicted slots of the same group; distribution mode: the top ⌈f·n⌉ by α of each group, f = the
 * group's normalised distribution entropy; entropy off: all of them.
 */
export function chooseAbsorbed(
  evicted: Int32Array,
  alpha: ArrayLike<number>,
  entropy: Float32Array,
  modality: Uint8Array,
  len: number,
  o: { useEntropy: boolean; entropyMode: EntropyMode; absorbQuantile: number },
): Int32Array {
  if (!o.useEntropy) return evicted;
  const groups = [0, 1].map((g) => evicted.filter((j) => (isVisualCode(modality[j]!) ? 0 : 1) === g));
  const chosen: number[] = [];
  if (o.entropyMode === 'token') {
    for (const g of groups) {
      const cut = quantile(Array.from(g, (j) => entropy[j]!), o.absorbQuantile);
      for (const j of g) if (entropy[j]! >= cut) chosen.push(j);
    }
  } else {
    const f = groupDistributionEntropy(alpha, modality, len);
    groups.forEach((g, gi) => {
      const take = Math.ceil(f[gi]! * g.length);
      const byAlpha = Array.from(g).sort((a, b) => alpha[b]! - alpha[a]! || a - b);
      chosen.push(...byAlpha.slice(0, take));
    });
  }
  return Int32Array.from(chosen).sort();
}

/**
 * Grid decay of each absorbed slot: γ^{|r−r0|+|c−c0|} for visual patches (row, col ≥ 0), where
 * (r0, c0) is the highest-score visual patch of the same segment among all len slots; 1 for
 * everything else. Returns [absorbed.length].
 */
export function gridDecay(absorbed: Int32Array, score: ArrayLike<number>, meta: TokenMeta, len: number, gamma: number): Float32Array {
  const root = new Map<number, number>();
  const isPatch = (j: number): boolean => isVisualCode(meta.modality[j]!) && meta.row[j]! >= 0 && meta.col[j]! >= 0;
  for (let j = 0; j < len; j++) {
    if (!isPatch(j)) continue;
    const r = root.get(meta.segment[j]!);
    if (r === undefined || score[j]! > score[r]!) root.set(meta.segment[j]!, j);
  }
  return Float32Array.from(absorbed, (j) => {
    if (!isPatch(j) || gamma === 1) return 1;
    const r = root.get(meta.segment[j]!)!;
    return gamma ** (Math.abs(meta.row[j]! - meta.row[r]!) + Math.abs(meta.col[j]! - meta.col[r]!));
  });
}
