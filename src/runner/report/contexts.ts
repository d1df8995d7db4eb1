/**
 * What a row's numbers depend on besides its policy, budget and seed. A report averages a
 * label's rows over seeds; rows of one label that differ in model, dataset, protocol, K/V
 * storage (or in options, schedule, sample count or backend) measure different things, so they get labels
 * qualified by what differs ("snapkv [model=qwen2-7b]") and land in separate table rows.
 */
import { basename } from 'node:path';
import type { ResultRow } from '../result-row.js';
import { canonicalJson } from '../stable-hash.js';

export interface RowContext {
  model: string;
  dataset: string;
  /** How the question meets the compressed cache; "unrecorded" for rows of runs that did not record one. */
  protocol: string;
  /** K/V storage of the cache; "unrecorded" for rows of runs that did not record one. */
  storage: string;
  options: string;
  schedule: string;
  samples: string;
  backend: string;
}

const FIELDS = ['model', 'dataset', 'protocol', 'storage', 'options', 'schedule', 'samples', 'backend'] as const;

export function contextOf(r: ResultRow): RowContext {
  const protocol = (r as ResultRow & { protocol?: unknown }).protocol;
  return {
    model: r.model,
    dataset: r.dataset,
    protocol: typeof protocol === 'string' ? protocol : 'unrecorded',
    storage: r.storage ?? 'unrecorded',
    options: canonicalJson(r.options ?? {}),
    schedule: r.schedule,
    samples: String(r.samples),
    backend: r.backend,
  };
}

export interface QualifiedRows {
  /** The rows, labels qualified where one label covered several contexts. */
  rows: ResultRow[];
  /** One line per qualified label: what differed. */
  notes: string[];
}

/** Splits labels that cover rows of different contexts, so no table cell mixes them. */
export function qualifyLabels(rows: readonly ResultRow[]): QualifiedRows {
  const byLabel = new Map<string, ResultRow[]>();
  for (const r of rows) (byLabel.get(r.label) ?? byLabel.set(r.label, []).get(r.label)!).push(r);
  const relabel = new Map<ResultRow, string>();
  const notes: string[] = [];
  for (const [label, group] of byLabel) {
    const contexts = group.map(contextOf);
    const differing = FIELDS.filter((f) => new Set(contexts.map((c) => c[f])).size > 1);
    if (differing.length === 0) continue;
    const shown = differing.map((f) => ({ f, short: shortener(contexts.map((c) => c[f])) }));
    group.forEach((r, i) => relabel.set(r, `${label} [${shown.map(({ f, short }) => `${f}=${short(contexts[i]![f])}`).join(', ')}]`));
    notes.push(`"${label}" covers rows that differ in ${differing.join(', ')}; they are kept apart as ${[...new Set(group.map((r) => relabel.get(r)!))].map((l) => `"${l}"`).join(', ')}.`);
  }
  return { rows: rows.map((r) => (relabel.has(r) ? { ...r, label: relabel.get(r)! } : r)), notes };
}

/** Paths shown by their last segment when that keeps them distinct, in full otherwise. */
function shortener(values: string[]): (v: string) => string {
  const distinct = [...new Set(values)];
  const base = (v: string): string => (v.includes('/') ? basename(v) : v);
  return new Set(distinct.map(base)).size === distinct.length ? base : (v) => v;
}
