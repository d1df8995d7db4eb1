/**
 * RetentiveKV: State-Space Memory for Uncertainty-Aware Multimodal KV Cache Eviction —
 * arXiv 2605.04075. The entropy-guided retention estimator:
 *   p_i = α_i / Σ_{j∈G(i)} α_j,  H_i = −p_i log p_i   (G(i) = the entropy group of slot i)
 *   R_i = λ·α̃_i + (1 − λ)·H̃_i                       (~ = min-max normalised, see `normalize`)
 *
 * Ours [INF], each an option of the policy:
 * - entropy groups: 'modality' (default) gives every modality its own group (text, image,
 *   video, audio), so audio evidence has an entropy term of its own; 'visual' is the earlier
 *   reading (image+video vs everything else, so audio shares a group with the text).
 * - text entropy: H = 0 for text slots ('zero', default) or the text analogue; under 'visual'
 *   grouping 'zero' zeroes every non-visual slot (audio included), as before.
 * - normalize: 'media' (default) min-max normalises α over the media slots together (text
 *   slots among themselves) and H within each entropy group, so `<s>` and the question words —
 *   which take most text-row attention — do not squash the media scores towards 0; 'modality'
 *   normalises both within each modality; 'all' is the earlier reading (one min-max over every
 *   slot of the head).
 * - 'distribution' entropy mode: R = α, and the group's normalised distribution entropy sets
 *   the fraction absorbed (./retentive-absorb.ts).
 */
import { isVisualCode, ModalityCode, NUM_MODALITIES } from '../../cache/modality.js';
import { minMaxNormalize } from '../multimodal/modality-groups.js';

export type EntropyMode = 'token' | 'distribution';
export type TextEntropy = 'zero' | 'analogue';
export type EntropyGroups = 'modality' | 'visual';
export type ScoreNormalize = 'media' | 'modality' | 'all';

/** Entropy group of every slot [len]: the modality code, or 0 = visual / 1 = the rest. */
export function entropyGroupsOf(modality: Uint8Array, len: number, groups: EntropyGroups): Uint8Array {
  return Uint8Array.from({ length: len }, (_, j) => {
    const m = modality[j]!;
    if (groups === 'visual') return isVisualCode(m) ? 0 : 1;
    if (m >= NUM_MODALITIES) throw new RangeError(`retentivekv: slot ${j} has modality code ${m}; expected 0..${NUM_MODALITIES - 1}`);
    return m;
  });
}

/**
 * −p log p of every slot, with p normalised inside its group. alpha: [len] attention mass ≥ 0;
 * group: [len] group ids (< 8); returns [len] nats.
 */
export function groupTokenEntropy(alpha: ArrayLike<number>, group: Uint8Array, len: number): Float32Array {
  const sums = new Float64Array(8);
  for (let j = 0; j < len; j++) sums[group[j]!]! += Math.max(0, alpha[j]!);
  const out = new Float32Array(len);
  for (let j = 0; j < len; j++) {
    const s = sums[group[j]!]!;
    const p = s > 0 ? Math.max(0, alpha[j]!) / s : 0;
    out[j] = p > 0 ? -p * Math.log(p) : 0;
  }
  return out;
}

/**
 * Normalised distribution entropy (−Σ p log p / log n ∈ [0, 1]) of each group id present
 * (index = group id; 1 for groups of fewer than two slots).
 */
export function groupDistributionEntropy(alpha: ArrayLike<number>, group: Uint8Array, len: number): Float64Array {
  const h = groupTokenEntropy(alpha, group, len);
  const sum = new Float64Array(8);
  const n = new Float64Array(8);
  for (let j = 0; j < len; j++) {
    sum[group[j]!]! += h[j]!;
    n[group[j]!]!++;
  }
  return sum.map((s, g) => (n[g]! > 1 ? s / Math.log(n[g]!) : 1));
}

/** x min-max normalised within each class of `classOf` (slots of one class compared only among themselves); [len]. */
export function minMaxWithin(x: ArrayLike<number>, len: number, classOf: (j: number) => number): Float32Array {
  const lo = new Float64Array(8).fill(Infinity);
  const hi = new Float64Array(8).fill(-Infinity);
  for (let j = 0; j < len; j++) {
    const c = classOf(j);
    lo[c] = Math.min(lo[c]!, x[j]!);
    hi[c] = Math.max(hi[c]!, x[j]!);
  }
  return Float32Array.from({ length: len }, (_, j) => {
    const c = classOf(j);
    return hi[c]! > lo[c]! ? (x[j]! - lo[c]!) / (hi[c]! - lo[c]!) : 0;
  });
}

export interface RetentionScoreOptions {
  lambda: number;
  useEntropy: boolean;
  entropyMode: EntropyMode;
  textEntropy: TextEntropy;
  entropyGroups: EntropyGroups;
  normalize: ScoreNormalize;
}

/** R (token mode with entropy) or α (distribution mode / entropy off), both [len]. */
export function retentionScores(
  alpha: ArrayLike<number>,
  entropy: Float32Array,
  modality: Uint8Array,
  group: Uint8Array,
  len: number,
  o: RetentionScoreOptions,
): Float32Array {
  if (!o.useEntropy || o.entropyMode === 'distribution') return Float32Array.from({ length: len }, (_, j) => alpha[j]!);
  const zeroed = (j: number): boolean => o.textEntropy === 'zero' && (o.entropyGroups === 'visual' ? !isVisualCode(modality[j]!) : modality[j] === ModalityCode.text);
  const h = entropy.map((x, j) => (zeroed(j) ? 0 : x));
  const a = Array.from({ length: len }, (_, j) => alpha[j]!);
  const isText = (j: number): number => (modality[j] === ModalityCode.text ? 1 : 0);
  let an: Float32Array;
  let hn: Float32Array;
  if (o.normalize === 'all') {
    an = minMaxNormalize(a);
    hn = minMaxNormalize(h);
  } else {
    an = minMaxWithin(a, len, o.normalize === 'media' ? isText : (j) => modality[j]!);
    hn = minMaxWithin(h, len, (j) => group[j]!);
  }
  return an.map((x, j) => o.lambda * x + (1 - o.lambda) * hn[j]!);
}
