/**
 * Scorers: per-slot importance read from the attention statistics of a PolicyContext. Each
 * throws a clear error naming the policy and the missing statistic when the session did not
 * gather it (the policy's `needs` must name it). All are [len] of KV head h, summed over the
 * query heads of its GQA group (see src/attention/stats.ts).
 */
import type { AttentionStats } from '../../attention/stats.js';
import type { PolicyContext } from '../../cache/policy-api.js';

type SlotStat = 'cumulative' | 'window' | 'lastQuery' | 'textColumn' | 'redistributed';

/** The slot-aligned statistic `name` of KV head h, checked for presence and length. */
export function slotStat(ctx: PolicyContext, name: SlotStat, h: number, policy: string): Float32Array {
  return checkedStat(ctx.stats, name, h, ctx.view.length(h), policy);
}

export function checkedStat(stats: AttentionStats, name: SlotStat, h: number, len: number, policy: string): Float32Array {
  const arr = stats[name]?.[h];
  if (!arr) throw new Error(`${policy}: attention statistic "${name}" is missing for KV head ${h}; the policy's needs must request it`);
  if (arr.length < len) throw new RangeError(`${policy}: statistic "${name}" of KV head ${h} has ${arr.length} entries; expected ${len} (one per slot)`);
  return arr.length === len ? arr : arr.subarray(0, len);
}

/**
 * H2O's accumulated attention of KV head h: the cache's running column sums across prefill
 * and decode (`view.accumulated(h).cumulative`), else this call's `stats.cumulative`.
 */
export function accumulatedScores(ctx: PolicyContext, h: number, policy: string): Float32Array {
  const acc = ctx.view.accumulated(h).cumulative;
  const len = ctx.view.length(h);
  if (acc && acc.length >= len) return acc.length === len ? acc : acc.subarray(0, len);
  return slotStat(ctx, 'cumulative', h, policy);
}

/**
 * Mean attention a slot received per query that could see it, from column sums of one call
 * over `queries` query tokens at contiguous positions ending at the slot list's end (prefill):
 * count_j = number of queries at positions ≥ pos_j. Used by FastV and CaM.
 */
export function meanReceived(columnSum: ArrayLike<number>, positions: Int32Array, queries: number, lastPosition: number): Float32Array {
  const out = new Float32Array(columnSum.length);
  const firstQuery = lastPosition - queries + 1;
  for (let j = 0; j < out.length; j++) {
    const seen = Math.min(queries, lastPosition - Math.max(positions[j]!, firstQuery) + 1);
    out[j] = columnSum[j]! / Math.max(1, seen);
  }
  return out;
}

/** Σ over the KV heads of a layer of one slot statistic (a layer-wide decision, e.g. TOVA). */
export function sumOverHeads(perHead: ArrayLike<number>[], len: number): Float32Array {
  const out = new Float32Array(len);
  for (const s of perHead) for (let j = 0; j < len; j++) out[j] += s[j]!;
  return out;
}
