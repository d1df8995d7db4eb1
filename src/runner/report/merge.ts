/**
 * Merging result directories (one per shard, or runs to compare): rows keyed by trial id,
 * identical ids counted once, sorted into one deterministic order (policy, budget, seed) so
 * a merge of shards equals the unsharded run row for row, in the config's order.
 */
import { readResultsFile } from '../results-store.js';
import type { ResultRow } from '../result-row.js';

export interface Merged {
  rows: ResultRow[];
  /** Trial ids found in more than one directory (kept once, the first seen). */
  duplicates: string[];
  /** Rows dropped inside one directory because its trial id was recorded again later (the last complete row is kept). */
  repeatedWithin: { dir: string; dropped: number }[];
}

export function mergeResultDirs(dirs: readonly string[]): Merged {
  if (dirs.length === 0) throw new Error('report: name at least one run directory');
  const byId = new Map<string, ResultRow>();
  const duplicates: string[] = [];
  const repeatedWithin: Merged['repeatedWithin'] = [];
  for (const dir of dirs) {
    const parsed = readResultsFile(dir);
    if (parsed.duplicates > 0) repeatedWithin.push({ dir, dropped: parsed.duplicates });
    for (const row of parsed.rows) {
      if (byId.has(row.trial_id)) duplicates.push(row.trial_id);
      else byId.set(row.trial_id, row);
    }
  }
  return { rows: sortRows([...byId.values()]), duplicates, repeatedWithin };
}

/** Budget order: the full cache last (it is the 100 % end), ratios ascending, then tokens. */
export function budgetSortKey(r: Pick<ResultRow, 'budget_ratio' | 'budget_tokens'>): number {
  if (r.budget_ratio !== null) return r.budget_ratio;
  if (r.budget_tokens !== null) return 10 + r.budget_tokens;
  return Number.POSITIVE_INFINITY;
}

/** The config's order (expansion index), then policy, budget and seed for rows of other configs. */
export function sortRows(rows: ResultRow[]): ResultRow[] {
  return [...rows].sort(
    (a, b) =>
      (a.trial_index ?? 0) - (b.trial_index ?? 0) ||
      a.label.localeCompare(b.label) ||
      budgetSortKey(a) - budgetSortKey(b) ||
      a.seed - b.seed ||
      a.trial_id.localeCompare(b.trial_id),
  );
}
