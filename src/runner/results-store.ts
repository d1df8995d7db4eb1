/**
 * Crash-safe result files. results.jsonl is the commit log: a finished trial is one line,
 * written with a single append and fsync'd before the next trial starts, so a kill at any
 * byte leaves at most an unterminated last line. Opening the store truncates such a tail
 * (that trial runs again) and drops repeated trial ids (keeping each id's last row).
 * results.csv is derived: rewritten from the JSONL rows through a temp file + fsync + rename,
 * so it is never torn and never holds a row the JSONL lacks; at worst it lags one row behind
 * until the next write.
 */
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWrite, writeAll } from './atomic-write.js';
import type { PredictionLine } from './predictions.js';
import { PredictionsLog } from './predictions-store.js';
import { toCsv, type ResultRow } from './result-row.js';

export { atomicWrite } from './atomic-write.js';

export const RESULTS_JSONL = 'results.jsonl';
export const RESULTS_CSV = 'results.csv';

export interface ParsedResults {
  rows: ResultRow[];
  /** Byte length of the intact prefix (complete, parseable lines). */
  validBytes: number;
  /** Bytes after the intact prefix (a torn last line). */
  tornBytes: number;
  duplicates: number;
}

/**
 * Reads a results.jsonl; an unterminated last line is torn; a bad complete line is an error.
 * A trial id recorded twice (a directory two runs wrote to before the run lock existed) keeps
 * its last complete row, at the place the id first appeared; `duplicates` counts the rows dropped.
 */
export function parseResultsJsonl(text: Buffer | string, file = RESULTS_JSONL): ParsedResults {
  const buf = typeof text === 'string' ? Buffer.from(text) : text;
  const end = buf.lastIndexOf(0x0a) + 1;
  const byId = new Map<string, ResultRow>();
  let duplicates = 0;
  const lines = buf.subarray(0, end).toString('utf8').split('\n');
  lines.pop();
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let row: ResultRow;
    try {
      row = JSON.parse(line) as ResultRow;
    } catch {
      throw new Error(`${file}:${i + 1}: not a JSON result row (a complete line that does not parse; the file was edited or two runs wrote to it)`);
    }
    if (typeof row.trial_id !== 'string') throw new Error(`${file}:${i + 1}: row has no trial_id`);
    if (byId.has(row.trial_id)) duplicates++;
    byId.set(row.trial_id, row);
  });
  return { rows: [...byId.values()], validBytes: end, tornBytes: buf.length - end, duplicates };
}

/** A results directory's parsed results.jsonl (read-only; a torn tail is ignored). */
export function readResultsFile(dir: string): ParsedResults {
  const file = join(dir, RESULTS_JSONL);
  if (!existsSync(file)) throw new Error(`${dir}: no ${RESULTS_JSONL} here (is it a kvprism run directory?)`);
  return parseResultsJsonl(readFileSync(file), file);
}

/** Rows of a results directory, one per trial id (read-only; ignores a torn tail). */
export function readResults(dir: string): ResultRow[] {
  return readResultsFile(dir).rows;
}

export class ResultsStore {
  private readonly rowsById = new Map<string, ResultRow>();
  private fd: number;
  private readonly predictions: PredictionsLog;
  /** What opening repaired: torn tail bytes dropped and repeated rows removed. */
  readonly repaired: { tornBytes: number; duplicates: number };

  private constructor(
    readonly dir: string,
    rows: ResultRow[],
    fd: number,
    repaired: { tornBytes: number; duplicates: number },
  ) {
    for (const r of rows) this.rowsById.set(r.trial_id, r);
    this.fd = fd;
    this.predictions = PredictionsLog.open(dir, new Set(this.rowsById.keys()));
    this.repaired = repaired;
  }

  /**
   * Opens (creating) DIR/results.jsonl, truncates a torn tail, and rebuilds results.csv;
   * DIR/predictions.jsonl keeps the lines of the recorded trials only.
   * With `fresh`, an existing non-empty results file is an error (use --resume).
   */
  static open(dir: string, { fresh = false } = {}): ResultsStore {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, RESULTS_JSONL);
    const fd = openSync(file, 'a+');
    try {
      const parsed = parseResultsJsonl(readFileSync(file), file);
      if (fresh && parsed.rows.length + parsed.tornBytes > 0) {
        throw new Error(`${file} already holds ${parsed.rows.length} result rows; pass --resume to continue that run, or choose another --out`);
      }
      if (parsed.tornBytes > 0) {
        ftruncateSync(fd, parsed.validBytes);
        fsyncSync(fd);
      }
      const store = new ResultsStore(dir, parsed.rows, fd, { tornBytes: parsed.tornBytes, duplicates: parsed.duplicates });
      if (parsed.duplicates > 0) store.rewriteJsonl();
      store.writeCsv();
      return store;
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  has(trialId: string): boolean {
    return this.rowsById.has(trialId);
  }

  rows(): ResultRow[] {
    return [...this.rowsById.values()];
  }

  /** A trial's per-sample lines; written before its row (append), so a recorded trial always has them. */
  appendPredictions(lines: readonly PredictionLine[]): void {
    if (lines.some((p) => this.rowsById.has(p.trial_id))) throw new Error(`predictions of trial ${lines[0]!.trial_id} come after its row in ${this.dir}`);
    this.predictions.append(lines);
  }

  /** Commits one finished trial: JSONL line + fsync, then the CSV atomically. */
  append(row: ResultRow): void {
    if (this.rowsById.has(row.trial_id)) throw new Error(`trial ${row.trial_id} is already recorded in ${this.dir}`);
    writeAll(this.fd, Buffer.from(`${JSON.stringify(row)}\n`));
    fsyncSync(this.fd);
    this.rowsById.set(row.trial_id, row);
    this.writeCsv();
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.predictions.close();
  }

  private writeCsv(): void {
    atomicWrite(join(this.dir, RESULTS_CSV), toCsv(this.rows()));
  }

  private rewriteJsonl(): void {
    const file = join(this.dir, RESULTS_JSONL);
    atomicWrite(file, this.rows().map((r) => `${JSON.stringify(r)}\n`).join(''));
    closeSync(this.fd);
    this.fd = openSync(file, 'a');
  }
}
