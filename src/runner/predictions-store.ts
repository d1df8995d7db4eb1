/**
 * DIR/predictions.jsonl under the same rules as results.jsonl: a trial's lines are one append
 * + fsync made before its result row is committed, so every recorded trial has its lines. On
 * opening, a torn tail, the lines of trials without a result row (killed between the two
 * writes, or failed: they run again) and repeated (trial, sample) lines (the last is kept)
 * are dropped and the file rewritten, so a resumed run never duplicates a line.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PREDICTIONS_JSONL, type PredictionLine } from './predictions.js';
import { atomicWrite, writeAll } from './atomic-write.js';

export interface ParsedPredictions {
  lines: PredictionLine[];
  /** Lines dropped: torn tail (counted as one), uncommitted trials, repeats. */
  dropped: number;
}

const keyOf = (p: PredictionLine): string => `${p.trial_id}\u0000${p.sample_id}`;

/** Parses predictions.jsonl, keeping the lines of `committed` trials (all trials when omitted). */
export function parsePredictions(text: string, file: string, committed?: ReadonlySet<string>): ParsedPredictions {
  const end = text.lastIndexOf('\n') + 1;
  const byKey = new Map<string, PredictionLine>();
  let dropped = end < text.length ? 1 : 0;
  text
    .slice(0, end)
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      let p: PredictionLine;
      try {
        p = JSON.parse(line) as PredictionLine;
      } catch {
        throw new Error(`${file}:${i + 1}: not a JSON prediction line (the file was edited or two runs wrote to it)`);
      }
      if (typeof p.trial_id !== 'string' || typeof p.sample_id !== 'string') throw new Error(`${file}:${i + 1}: expected trial_id and sample_id strings`);
      if ((committed && !committed.has(p.trial_id)) || byKey.has(keyOf(p))) dropped++;
      if (!committed || committed.has(p.trial_id)) byKey.set(keyOf(p), p);
    });
  return { lines: [...byKey.values()], dropped };
}

/** The prediction lines of a run directory's recorded trials ([] for runs made before predictions existed). */
export function readPredictions(dir: string, committed?: ReadonlySet<string>): PredictionLine[] {
  const file = join(dir, PREDICTIONS_JSONL);
  if (!existsSync(file)) return [];
  return parsePredictions(readFileSync(file, 'utf8'), file, committed).lines;
}

export class PredictionsLog {
  private constructor(private fd: number) {}

  /** Opens (creating) DIR/predictions.jsonl, keeping only the lines of `committed` trials. */
  static open(dir: string, committed: ReadonlySet<string>): PredictionsLog {
    const file = join(dir, PREDICTIONS_JSONL);
    if (existsSync(file)) {
      const parsed = parsePredictions(readFileSync(file, 'utf8'), file, committed);
      if (parsed.dropped > 0) atomicWrite(file, parsed.lines.map((p) => `${JSON.stringify(p)}\n`).join(''));
    }
    return new PredictionsLog(openSync(file, 'a'));
  }

  /** Appends one trial's lines in a single write, fsync'd. */
  append(lines: readonly PredictionLine[]): void {
    if (lines.length === 0) return;
    writeAll(this.fd, Buffer.from(lines.map((p) => `${JSON.stringify(p)}\n`).join('')));
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
