/**
 * ThinK's channel scores and selection (Xu et al., "ThinK: Thinner Key Cache by Query-Driven
 * Pruning", arXiv 2407.21018, eq. for the query-driven criterion): for KV head h and key
 * channel c, score(c) = ‖Q_win[:, c]‖² · ‖K[:, c]‖², the squared Frobenius norms of channel c
 * over the observation window's queries of h's GQA group and over the cached keys. Ranking by
 * it equals ranking by ‖Q_win[:, c]‖ · ‖K[:, c]‖ (the square is monotone); the reference
 * implementation (SalesforceAIResearch/ThinK, key_pruner_query_driven) ranks by the product
 * of the two means of squares, the same order. The top d − ⌊λ·d⌋ channels are kept.
 */
import type { RecentQueries } from '../attention/stats.js';

/** Channels kept at pruning ratio λ of headDim d: d − ⌊λ·d⌋ (the reference prunes ⌊λ·d⌋). */
export function keptChannelCount(headDim: number, ratio: number): number {
  return headDim - Math.floor(ratio * headDim);
}

/**
 * Scores [headDim] f64 of KV head h: Σ over the window's query rows of the group's heads of
 * q[c]², times Σ over the slots `slots` (indices into keys) of k[c]².
 * queries: the window's q [w][qHeads][headDim]; keys: [len][headDim] f32 of head h.
 */
export function channelScores(queries: RecentQueries, qHeads: number, group: number, h: number, keys: Float32Array, slots: ArrayLike<number>, headDim: number): Float64Array {
  const d = headDim;
  const qMass = new Float64Array(d);
  const kMass = new Float64Array(d);
  const w = queries.positions.length;
  for (let i = 0; i < w; i++) {
    for (let g = 0; g < group; g++) {
      const off = (i * qHeads + h * group + g) * d;
      for (let c = 0; c < d; c++) qMass[c] += queries.q[off + c]! ** 2;
    }
  }
  for (let r = 0; r < slots.length; r++) {
    const off = slots[r]! * d;
    for (let c = 0; c < d; c++) kMass[c] += keys[off + c]! ** 2;
  }
  for (let c = 0; c < d; c++) qMass[c] *= kMass[c]!;
  return qMass;
}

/** The `keep` highest-scoring channels, ascending (ties: the lower channel index wins). */
export function topChannels(scores: Float64Array, keep: number): Int32Array {
  const order = Array.from(scores.keys()).sort((a, b) => scores[b]! - scores[a]! || a - b);
  return Int32Array.from(order.slice(0, keep)).sort();
}
