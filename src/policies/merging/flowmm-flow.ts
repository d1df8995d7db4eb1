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
 */
import { FLOW_STRIDE } from '../../attention/stats.js';
import { ModalityCode } from '../../cache/modality.js';

export type CrossPairs = 'text-media' | 'all-pairs';
export type MergeStrategy = 'cross' | 'intra';

/** ρ from M×M flows (summed over the layer's heads): cross-modal share of all mass; 0 when empty. */
export function interactionRatio(flows: Float64Array, pairs: CrossPairs): number {
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
  return total > 0 ? cross / total : 0;
}

/** The layer's merge strategy for ratio ρ and threshold θ. */
export function layerStrategy(rho: number, theta: number): MergeStrategy {
  return rho >= theta ? 'cross' : 'intra';
}
