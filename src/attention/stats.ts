/**
 * Attention statistics a policy may ask for. Kernels compute only what `StatNeeds` names,
 * fused into the attention pass; no L×L matrix is ever materialised.
 *
 * Conventions (all statistics are per **KV head**, summed over the query heads of its GQA
 * group; divide by `groupSize` for the group mean):
 * - a "row" is one query token of one query head; p[i][j] its softmax probability on slot j
 *   (slots are the cache slots of that KV head, in slot order; masked slots have p = 0).
 * - slot-aligned arrays have length `len[h]` (the number of slots of KV head h).
 */
import { NUM_MODALITIES } from '../cache/modality.js';

export interface StatNeeds {
  /** H2O: Σ over all query rows of p[i][j]. */
  cumulative?: boolean;
  /** SnapKV family: Σ over the last `window` query tokens (per head) of p[i][j]. 0/absent = off. */
  window?: number;
  /** TOVA: p[last][j] of the last query token. */
  lastQuery?: boolean;
  /** RetentiveKV / AccKV: Σ over query rows whose token is text of p[i][j]. */
  textColumn?: boolean;
  /**
   * AccKV redistribution: Σ_i p[i][j]·(pos_i + 1) / count_j, where count_j is the number of
   * query tokens in this call that can see slot j (pos_i ≥ pos_j).
   */
  redistributed?: boolean;
  /** FlowMM ρ / AccKV focusing: mass from query modality to key modality (M×M per head). */
  flows?: boolean;
  /** RetentiveKV gate: Shannon entropy (nats) of each query row, averaged over the group. */
  rowEntropy?: boolean;
  /**
   * ExpectedAttention: the last n query tokens of the call themselves (RoPE applied), copied by
   * the session (not a kernel statistic). 0/absent = off.
   */
  recentQueries?: number;
}

/** The last query tokens of an attend call: q [n][qHeads][headDim] f32 (RoPE applied), positions [n]. */
export interface RecentQueries {
  q: Float32Array;
  positions: Int32Array;
}

export interface AttentionStats {
  /** [kvHeads] slot-aligned, f32. */
  cumulative?: Float32Array[];
  window?: Float32Array[];
  lastQuery?: Float32Array[];
  textColumn?: Float32Array[];
  redistributed?: Float32Array[];
  /**
   * [kvHeads] each Float64Array(M*M): flows[h][qm*M + km] = Σ over rows with query modality
   * qm of the probability mass on slots of key modality km (M = NUM_MODALITIES).
   */
  flows?: Float64Array[];
  /** [kvHeads] each Float32Array(n): mean entropy over the group's heads for each query token. */
  rowEntropy?: Float32Array[];
  /** The last `recentQueries` query tokens of the call (see StatNeeds.recentQueries). */
  recentQueries?: RecentQueries;
  /** Number of query heads per KV head (the GQA ratio) the sums above ran over. */
  groupSize: number;
  /** Number of query tokens in the call that produced these statistics. */
  queries: number;
}

/** Every statistic the kernels gather (recentQueries is a copy the session makes, not a kernel output). */
export const ALL_STAT_NEEDS: Required<Omit<StatNeeds, 'recentQueries'>> = {
  cumulative: true,
  window: 32,
  lastQuery: true,
  textColumn: true,
  redistributed: true,
  flows: true,
  rowEntropy: true,
};

/** Union of several policies' needs (largest window wins). */
export function mergeNeeds(...needs: StatNeeds[]): StatNeeds {
  const out: StatNeeds = {};
  for (const n of needs) {
    if (n.cumulative) out.cumulative = true;
    if (n.window && n.window > 0) out.window = Math.max(out.window ?? 0, n.window);
    if (n.lastQuery) out.lastQuery = true;
    if (n.textColumn) out.textColumn = true;
    if (n.redistributed) out.redistributed = true;
    if (n.flows) out.flows = true;
    if (n.rowEntropy) out.rowEntropy = true;
    if (n.recentQueries && n.recentQueries > 0) out.recentQueries = Math.max(out.recentQueries ?? 0, n.recentQueries);
  }
  return out;
}

export function needsAnything(n: StatNeeds): boolean {
  return Boolean(n.cumulative || (n.window ?? 0) > 0 || n.lastQuery || n.textColumn || n.redistributed || n.flows || n.rowEntropy || (n.recentQueries ?? 0) > 0);
}

export const FLOW_STRIDE = NUM_MODALITIES;
