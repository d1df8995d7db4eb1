/**
 * Markdown tables, one per metric: a row per policy label, a column per budget, each cell the
 * mean over seeds (± sample standard deviation when there are several). The full cache has
 * no budget; its value is repeated in every column so each column compares against it.
 */
import type { ResultRow } from '../result-row.js';
import { budgetSortKey } from './merge.js';

export interface MetricDef {
  key: keyof ResultRow & string;
  title: string;
  /** Multiplier applied before formatting (bytes → KiB). */
  scale?: number;
  digits: number;
}

export const REPORT_METRICS: MetricDef[] = [
  { key: 'accuracy', title: 'Task accuracy', digits: 3 },
  { key: 'kl', title: 'Fidelity: KL(full ‖ policy) of the answer distribution (nats)', digits: 4 },
  { key: 'top1_agreement', title: 'Fidelity: top-1 agreement with the full cache', digits: 3 },
  { key: 'exact_match', title: 'Generation: exact match with a reference (normalised text)', digits: 3 },
  { key: 'contains', title: 'Generation: text contains a reference (normalised, whole words)', digits: 3 },
  { key: 'bleu_4', title: 'Generation: corpus BLEU-4', digits: 3 },
  { key: 'rouge_l', title: 'Generation: ROUGE-L', digits: 3 },
  { key: 'cider', title: 'Generation: CIDEr-D', digits: 3 },
  { key: 'token_agreement', title: 'Generation fidelity: token agreement with the full cache', digits: 3 },
  { key: 'text_identical', title: 'Generation fidelity: fraction of texts identical to the full cache', digits: 3 },
  { key: 'evidence_kept', title: 'Evidence kept: fraction of the tokens holding the answer still in the cache (mean over layers and KV heads)', digits: 3 },
  { key: 'logical_tokens', title: 'Logical tokens in the cache', digits: 1 },
  { key: 'total_bytes', title: 'KV cache size, KiB (K/V + metadata + retention state)', scale: 1 / 1024, digits: 1 },
  { key: 'peak_rss_bytes', title: 'Peak RSS, MiB', scale: 1 / 2 ** 20, digits: 0 },
  { key: 'prefill_ms', title: 'Prefill ms per sample', digits: 1 },
  { key: 'compression_ms', title: 'Compression ms per sample', digits: 2 },
  { key: 'decode_ms_per_token', title: 'Decode ms per token (mean)', digits: 2 },
  { key: 'decode_ms_median', title: 'Decode ms per token (median step)', digits: 2 },
];

export interface Grid {
  labels: string[];
  budgets: string[];
  /** cell(label, budget) → values over seeds. */
  values: Map<string, number[]>;
}

const cellKey = (label: string, budget: string): string => `${label}\u0000${budget}`;

export function buildGrid(rows: readonly ResultRow[], metric: MetricDef): Grid {
  const budgetRows = rows.filter((r) => r.policy !== 'full');
  const budgets = [...new Map(budgetRows.map((r) => [r.budget, budgetSortKey(r)])).entries()].sort((a, b) => a[1] - b[1]).map((e) => e[0]);
  const fullLabels = [...new Set(rows.filter((r) => r.policy === 'full').map((r) => r.label))];
  const others = [...new Set(budgetRows.map((r) => r.label))];
  const values = new Map<string, number[]>();
  const columns = budgets.length > 0 ? budgets : ['full'];
  for (const r of rows) {
    const v = r[metric.key];
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    const scaled = v * (metric.scale ?? 1);
    for (const b of r.policy === 'full' ? columns : [r.budget]) {
      const k = cellKey(r.label, b);
      (values.get(k) ?? values.set(k, []).get(k)!).push(scaled);
    }
  }
  return { labels: [...fullLabels, ...others], budgets: columns, values };
}

export function cellStats(grid: Grid, label: string, budget: string): { mean: number; sd: number; n: number } | null {
  const xs = grid.values.get(cellKey(label, budget));
  if (!xs || xs.length === 0) return null;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, sd, n: xs.length };
}

export function markdownTable(rows: readonly ResultRow[], metric: MetricDef): string | null {
  const grid = buildGrid(rows, metric);
  if (grid.values.size === 0) return null;
  const head = `| policy | ${grid.budgets.join(' | ')} |`;
  const rule = `|---|${grid.budgets.map(() => '---:').join('|')}|`;
  const body = grid.labels.map((label) => {
    const cells = grid.budgets.map((b) => {
      const s = cellStats(grid, label, b);
      if (!s) return '–';
      return s.n > 1 ? `${s.mean.toFixed(metric.digits)} ± ${s.sd.toFixed(metric.digits)}` : s.mean.toFixed(metric.digits);
    });
    return `| ${label} | ${cells.join(' | ')} |`;
  });
  return [`### ${metric.title}`, '', head, rule, ...body].join('\n');
}

/** Every metric's table that has data, separated by blank lines. */
export function markdownTables(rows: readonly ResultRow[], metrics: readonly MetricDef[] = REPORT_METRICS): string {
  return metrics
    .map((m) => markdownTable(rows, m))
    .filter((t): t is string => t !== null)
    .join('\n\n');
}
