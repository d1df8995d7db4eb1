/**
 * What a forked prefill hands its policy: the statistics a session gathering `needs` would
 * have been given, cut out of statistics gathered for a wider set (the union over every
 * fork of one shared prefill). Boolean statistics are computed independently of each other
 * by the kernels, so a subset is exact; the window statistic sums over the last `window`
 * query rows, so it is exact only when the windows are equal.
 */
import type { AttentionStats, RecentQueries, StatNeeds } from '../attention/stats.js';

/** Why `gathered` cannot stand in for `needs`, or null when it can. */
export function uncoveredNeeds(gathered: StatNeeds, needs: StatNeeds): string | null {
  const missing: string[] = [];
  for (const k of ['cumulative', 'lastQuery', 'textColumn', 'redistributed', 'flows', 'rowEntropy'] as const) {
    if (needs[k] && !gathered[k]) missing.push(k);
  }
  const want = needs.window ?? 0;
  const have = gathered.window ?? 0;
  if (want > 0 && want !== have) missing.push(`window ${want} (gathered ${have > 0 ? `window ${have}` : 'none'})`);
  // The last n query tokens: a longer run gathered covers it (its tail is the same rows).
  const rows = needs.recentQueries ?? 0;
  if (rows > 0 && (gathered.recentQueries ?? 0) < rows) missing.push(`recentQueries ${rows} (gathered ${gathered.recentQueries ?? 0})`);
  return missing.length > 0 ? missing.join(', ') : null;
}

/**
 * The fields of `stats` that `needs` names (other fields dropped), copied: the fork's next
 * attend may overwrite its statistics' arrays in place, and the source must stay intact
 * for the forks after it. Each slot-aligned field: [kvHeads] f32 arrays; flows [kvHeads]
 * f64 M×M; rowEntropy [kvHeads] f32 [queries].
 */
export function projectStats(stats: AttentionStats, needs: StatNeeds): AttentionStats {
  const copy = <T extends Float32Array | Float64Array>(a: T[] | undefined, on: boolean | undefined): T[] | undefined =>
    on && a ? a.map((x) => x.slice() as T) : undefined;
  const out: AttentionStats = { groupSize: stats.groupSize, queries: stats.queries };
  const fields: [keyof StatNeeds & keyof AttentionStats, boolean][] = [
    ['cumulative', Boolean(needs.cumulative)],
    ['window', (needs.window ?? 0) > 0],
    ['lastQuery', Boolean(needs.lastQuery)],
    ['textColumn', Boolean(needs.textColumn)],
    ['redistributed', Boolean(needs.redistributed)],
    ['rowEntropy', Boolean(needs.rowEntropy)],
  ];
  for (const [name, on] of fields) {
    const v = copy(stats[name] as Float32Array[] | undefined, on);
    if (v) (out as unknown as Record<string, unknown>)[name] = v;
  }
  const flows = copy(stats.flows, needs.flows);
  if (flows) out.flows = flows;
  const rows = needs.recentQueries ?? 0;
  if (rows > 0 && stats.recentQueries) out.recentQueries = lastQueries(stats.recentQueries, rows);
  return out;
}

/** The last `rows` of a run of recent queries (all of them when it is shorter), copied. */
function lastQueries(r: RecentQueries, rows: number): RecentQueries {
  const have = r.positions.length;
  const keep = Math.min(rows, have);
  const width = have === 0 ? 0 : r.q.length / have;
  return { q: r.q.slice((have - keep) * width), positions: r.positions.slice(have - keep) };
}
