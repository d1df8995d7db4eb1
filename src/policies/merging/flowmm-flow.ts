/**
 * FlowMM (arXiv 2511.05534), Eqs. 6–7: the cross-modal interaction ratio of a layer,
 *   ρ^ℓ = (1/H) Σ_h (A_{v→t} + A_{t→v}) / A,
 * and the layer strategy: cross-modal merging when ρ^ℓ ≥ θ, intra-modal otherwise.
 *
 * Computed exactly from the kernels' `flows` statistic (M×M mass from query modality to key
 * modality, summed over each GQA group): every query head's total A is its number of query
 * rows, so the mean of per-head ratios equals Σ_heads cross / Σ_heads total.
 * Ours [INF]: with several media modalities, 'text-media' (default) counts mass between text
 * and any media modality in either direction (the paper's definition when there is one visual
 * modality); 'all-pairs' counts mass between any two different modalities. ρ = θ counts as
 * cross-modal (the paper leaves equality open).
 *
 * Leading text [INF, default on]: text before the first media slot (`<s>`, a system prompt)
 * is left out of ρ, as keys and as queries. Media queries can only see that text (the
 * question comes after the media), so with it A_{v→t} is mostly attention to the `<s>` sink
 * and ρ measures the sink, not cross-modal flow. The flows statistic does not split text by
 * position, so the leading text's mass comes from the slot statistics: its column sums
 * (`cumulative`, all rows) and its text-row column sums (`textColumn`); media → leading text =
 * cumulative − textColumn. Leading-text queries only see leading text, so removing its
 * columns removes its rows too.
 */
import { FLOW_STRIDE } from '../../attention/stats.js';
import { ModalityCode } from '../../cache/modality.js';
import type { TokenMeta } from '../../cache/token-meta.js';

export type CrossPairs = 'text-media' | 'all-pairs';
export type MergeStrategy = 'cross' | 'intra';

/** Attention mass on the leading text of a layer (summed over its heads). */
export interface LeadingTextMass {
  /** From media query rows (a cross-modal pair in every `pairs` reading). */
  fromMedia: number;
  /** From all query rows (includes the leading text's own rows). */
  total: number;
}

/**
 * ρ from M×M flows (summed over the layer's heads): cross-modal share of all mass, with the
 * mass on the leading text taken out of both; 0 when empty.
 */
export function interactionRatio(flows: Float64Array, pairs: CrossPairs, leading: LeadingTextMass = { fromMedia: 0, total: 0 }): number {
  let cross = 0;
  let total = 0;
  for (let qm = 0; qm < FLOW_STRIDE; qm++) {
    for (let km = 0; km < FLOW_STRIDE; km++) {
      const mass = flows[qm * FLOW_STRIDE + km]!;
      total += mass;
      const isCross =
        pairs === 'all-pairs' ? qm !== km : (qm === ModalityCode.text) !== (km === ModalityCode.text);
      if (isCross) cross += mass;
    }
  }
  cross = Math.max(0, cross - leading.fromMedia);
  total -= leading.total;
  return total > 1e-12 ? cross / total : 0;
}

/** Slots of text placed before the first media slot: a mask [len] (all 0 without media). */
export function leadingTextMask(meta: TokenMeta, len: number): Uint8Array {
  let first = Infinity;
  for (let j = 0; j < len; j++) if (meta.modality[j] !== ModalityCode.text) first = Math.min(first, meta.position[j]!);
  const mask = new Uint8Array(len);
  for (let j = 0; j < len; j++) if (meta.modality[j] === ModalityCode.text && meta.position[j]! < first) mask[j] = 1;
  return mask;
}

/**
 * The leading-text mass of one head: cumulative [len] (all query rows), textColumn [len]
 * (text query rows), mask [len] from leadingTextMask. Adds into `out`.
 */
export function addLeadingTextMass(cumulative: ArrayLike<number>, textColumn: ArrayLike<number>, mask: Uint8Array, out: LeadingTextMass): void {
  for (let j = 0; j < mask.length; j++) {
    if (!mask[j]) continue;
    out.total += cumulative[j]!;
    out.fromMedia += Math.max(0, cumulative[j]! - textColumn[j]!);
  }
}

/** The layer's merge strategy for ratio ρ and threshold θ. */
export function layerStrategy(rho: number, theta: number): MergeStrategy {
  return rho >= theta ? 'cross' : 'intra';
}
