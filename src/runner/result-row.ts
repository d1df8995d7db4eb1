/**
 * One finished trial as recorded in results.jsonl (all fields) and results.csv (the scalar
 * columns below, in this order). Units are in the names: *_ms milliseconds, *_bytes bytes.
 */
export interface ResultRow {
  trial_id: string;
  /** Position in the config's expanded sweep (orders tables and merges like the config). */
  trial_index: number;
  label: string;
  policy: string;
  /** Policy options with defaults filled in. */
  options: Record<string, unknown>;
  /** "20%", "512t" or "full". */
  budget: string;
  budget_ratio: number | null;
  budget_tokens: number | null;
  /** "after-prefill", "over-budget", "every:N", or "none" for the full cache. */
  schedule: string;
  /** "query-aware" or "query-agnostic" (absent in rows written before protocols existed: query-aware). */
  protocol?: string;
  /** K/V storage of the trial's cache: "f32", "int8-fp8", "int4(R=0)" … (src/runner/storage-axis.ts; absent in rows written before it was recorded). */
  storage?: string;
  seed: number;
  /** Backend that actually ran (after resolving "auto"). */
  backend: string;
  /** The config's threads (a count, or 'auto': run_meta.json holds the count it chose). */
  threads: number | 'auto';
  model: string;
  dataset: string;
  samples: number;
  /** Fraction of samples answered correctly (null when the metric is off). */
  accuracy: number | null;
  /** Mean KL(full ‖ this) of the answer distribution over choices, nats. */
  kl: number | null;
  /** Fraction of samples whose top-1 choice equals the full cache's. */
  top1_agreement: number | null;
  /** Mean fraction of the answer's evidence tokens still in the cache (datasets that name evidence). */
  evidence_kept?: number | null;
  /** Mean prompt tokens per sample. */
  prompt_tokens: number;
  /** Means over samples of CacheSession.bytes() after the prompt was compressed. */
  logical_tokens: number | null;
  slots: number | null;
  kv_bytes: number | null;
  /** The parts of kv_bytes in DRAM and on the DRAM–flash tier's file (cache.tier; absent in older rows). */
  kv_dram_bytes?: number | null;
  kv_file_bytes?: number | null;
  meta_bytes: number | null;
  retention_bytes: number | null;
  total_bytes: number | null;
  /**
   * Mean over samples of the most KV bytes the cache held during the prefill: the whole
   * prompt's for a one-pass prefill, budget + one chunk when streaming (absent in older rows).
   */
  kv_peak_bytes?: number | null;
  /** Process peak resident set during the trial (reset at its start where Linux allows). */
  peak_rss_bytes: number | null;
  /** Means per sample. */
  prefill_ms: number | null;
  compression_ms: number | null;
  decode_ms_per_token: number | null;
  /** Median decode step (ms) over every step of the trial: robust to a shared machine's slow steps (absent in older rows). */
  decode_ms_median?: number | null;
  wall_ms: number;
  /** "i/n" of the shard that ran it. */
  shard: string;
  finished_at: string;
  /** Accuracy per question family (JSONL only). */
  families: Record<string, { n: number; accuracy: number }>;
  /** [layer][modality] fraction of the text query rows' prefill attention mass on each key modality (flow-capture.ts; JSONL only). */
  modality_mass?: number[][];
  /**
   * Generation datasets (absent otherwise; `accuracy` is then the exact-match rate): fraction of
   * samples whose normalised text equals a reference / contains one as whole words.
   */
  exact_match?: number | null;
  contains?: number | null;
  /** Corpus BLEU-1..4, ROUGE-L (F, β = 1.2) and CIDEr-D over the trial's samples, pycocoevalcap's definitions. */
  bleu_1?: number | null;
  bleu_2?: number | null;
  bleu_3?: number | null;
  bleu_4?: number | null;
  rouge_l?: number | null;
  cider?: number | null;
  /** Fidelity of generation: mean token agreement with the full cache's greedy text, and the fraction of identical texts. */
  token_agreement?: number | null;
  text_identical?: number | null;
}

/** The generation columns, in CSV order (present when any row is of a generation trial). */
export const GENERATION_COLUMNS = ['exact_match', 'contains', 'bleu_1', 'bleu_2', 'bleu_3', 'bleu_4', 'rouge_l', 'cider', 'token_agreement', 'text_identical'] as const satisfies readonly (keyof ResultRow)[];

export const CSV_COLUMNS = [
  'trial_id', 'trial_index', 'label', 'policy', 'options', 'budget', 'budget_ratio', 'budget_tokens', 'schedule', 'seed',
  'backend', 'threads', 'model', 'dataset', 'samples', 'accuracy', 'kl', 'top1_agreement', 'prompt_tokens',
  'logical_tokens', 'slots', 'kv_bytes', 'meta_bytes', 'retention_bytes', 'total_bytes', 'peak_rss_bytes',
  'prefill_ms', 'compression_ms', 'decode_ms_per_token', 'wall_ms', 'shard', 'finished_at', 'evidence_kept',
  'protocol', 'kv_peak_bytes', 'decode_ms_median', 'storage', 'kv_dram_bytes', 'kv_file_bytes',
] as const satisfies readonly (keyof ResultRow)[];

function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Per-family accuracy columns ("accuracy_<family>") and plain option columns ("option_<name>"). */
export const FAMILY_PREFIX = 'accuracy_';
export const OPTION_PREFIX = 'option_';

/**
 * The CSV columns for a set of rows: the fixed columns, the generation metrics when any row is
 * of a generation trial, then one accuracy column per question
 * family and one column per policy option that any row has (sorted), so a spreadsheet can
 * filter on `option_window` without parsing the `options` JSON.
 */
export function csvColumns(rows: readonly ResultRow[]): string[] {
  const families = new Set<string>();
  const options = new Set<string>();
  for (const r of rows) {
    for (const f of Object.keys(r.families ?? {})) families.add(f);
    for (const o of Object.keys(r.options ?? {})) options.add(o);
  }
  const generation = rows.some((r) => r.exact_match !== undefined) ? GENERATION_COLUMNS : [];
  return [...CSV_COLUMNS, ...generation, ...[...families].sort().map((f) => FAMILY_PREFIX + f), ...[...options].sort().map((o) => OPTION_PREFIX + o)];
}

/** A row's value in a column of csvColumns. */
export function csvValue(row: ResultRow, column: string): unknown {
  if ((CSV_COLUMNS as readonly string[]).includes(column) || (GENERATION_COLUMNS as readonly string[]).includes(column)) return row[column as keyof ResultRow];
  if (column.startsWith(FAMILY_PREFIX)) return row.families?.[column.slice(FAMILY_PREFIX.length)]?.accuracy;
  if (column.startsWith(OPTION_PREFIX)) return row.options?.[column.slice(OPTION_PREFIX.length)];
  return undefined;
}

export function csvHeader(columns: readonly string[] = CSV_COLUMNS): string {
  return `${columns.map(csvField).join(',')}\n`;
}

export function toCsvLine(row: ResultRow, columns: readonly string[] = CSV_COLUMNS): string {
  return `${columns.map((c) => csvField(csvValue(row, c))).join(',')}\n`;
}

/** The whole CSV for these rows (header included). */
export function toCsv(rows: readonly ResultRow[]): string {
  const columns = csvColumns(rows);
  return csvHeader(columns) + rows.map((r) => toCsvLine(r, columns)).join('');
}

/** RFC 4180 parser (quoted fields, doubled quotes, newlines inside quotes). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\n') row.push(field), rows.push(row), (row = []), (field = '');
    else if (c !== '\r') field += c;
  }
  if (field !== '' || row.length > 0) row.push(field), rows.push(row);
  return rows;
}
