/**
 * `kvprism report DIR...`: merges run directories, writes report.md (tables per metric),
 * the charts as SVG and PNG, and — when several directories were merged — the merged
 * results.jsonl / results.csv.
 */
import { mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { atomicWrite, RESULTS_CSV, RESULTS_JSONL } from '../results-store.js';
import { toCsv, type ResultRow } from '../result-row.js';
import { qualifyLabels } from './contexts.js';
import { mergeResultDirs } from './merge.js';
import { reportCharts } from './plots.js';
import { writeChart } from '../../util/chart.js';
import { markdownTable, markdownTables, REPORT_METRICS } from './tables.js';

export interface ReportResult {
  outDir: string;
  rows: ResultRow[];
  markdownFile: string;
  /** The tables as Markdown (what report.md holds after its heading). */
  markdown: string;
  /** Charts written, by name. */
  charts: { name: string; svg: string; png: string }[];
  duplicates: string[];
  /** Rows dropped inside a directory for a trial id recorded again later (the last row is kept). */
  repeatedWithin: { dir: string; dropped: number }[];
  /** Labels split because their rows came from different models, datasets, protocols (see contexts.ts). */
  notes: string[];
}

/** Where a report goes by default: the run directory itself, or DIR-PARENT/merged for several. */
export function defaultReportDir(dirs: readonly string[]): string {
  if (dirs.length === 1) return resolve(dirs[0]!);
  return join(dirname(resolve(dirs[0]!)), 'merged');
}

export async function writeReport(dirs: readonly string[], opts: { out?: string; plots?: boolean } = {}): Promise<ReportResult> {
  const { rows, duplicates, repeatedWithin } = mergeResultDirs(dirs);
  const { rows: shown, notes } = qualifyLabels(rows);
  const outDir = resolve(opts.out ?? defaultReportDir(dirs));
  const isInput = dirs.some((d) => resolve(d) === outDir);
  if (isInput && dirs.length > 1) throw new Error(`report --out ${outDir}: is one of the run directories being merged; choose a separate directory`);
  mkdirSync(outDir, { recursive: true });
  if (!isInput) {
    atomicWrite(join(outDir, RESULTS_JSONL), rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    atomicWrite(join(outDir, RESULTS_CSV), toCsv(rows));
  }
  const charts: ReportResult['charts'] = [];
  if (opts.plots !== false) {
    const plotDir = join(outDir, 'plots');
    mkdirSync(plotDir, { recursive: true });
    for (const c of reportCharts(shown)) charts.push({ name: c.name, ...(await writeChart(c.spec, join(plotDir, c.name))) });
  }
  const markdown = markdownTables(shown);
  const sources = dirs.map((d) => `\`${basename(resolve(d))}\``).join(', ');
  const figures = charts.map((c) => `![${c.name}](plots/${c.name}.svg)`).join('\n');
  const text = [
    `# kvprism report`,
    '',
    `${rows.length} trials from ${sources}${duplicates.length ? ` (${duplicates.length} repeated trial ids counted once)` : ''}.`,
    ...repeatedWithin.map((r) => `${r.dir}: ${r.dropped} repeated rows dropped (a trial id recorded twice; the last complete row is kept).`),
    ...notes,
    '',
    markdown,
    '',
    figures,
    '',
  ].join('\n');
  const markdownFile = join(outDir, 'report.md');
  atomicWrite(markdownFile, text);
  return { outDir, rows, markdownFile, markdown, charts, duplicates, repeatedWithin, notes };
}

/** The table a run prints when it ends (accuracy, then fidelity), contexts kept apart as in the report. */
export function headlineTable(rows: readonly ResultRow[]): string {
  const shown = qualifyLabels(rows).rows;
  return ['accuracy', 'kl', 'total_bytes']
    .map((k) => markdownTable(shown, REPORT_METRICS.find((m) => m.key === k)!))
    .filter((t): t is string => t !== null)
    .join('\n\n');
}
