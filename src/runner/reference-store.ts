/**
 * Full-cache reference answers for fidelity, computed once per (model, dataset, sample,
 * backend, cache settings) and reused by every trial. Kept in memory and appended to
 * DIR/reference.jsonl (one fsync'd line each) so a resumed run does not recompute them;
 * an unterminated last line (a kill mid-write) is ignored.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { stableHash } from './stable-hash.js';

export const REFERENCE_JSONL = 'reference.jsonl';

export interface ReferenceAnswer {
  predicted: number;
  answerDistribution: number[];
  /** Generation samples: the full cache's greedy generation (token ids, text). */
  generated?: { tokens: number[]; text: string };
}

export interface ReferenceKey {
  model: string;
  dataset: unknown;
  /** The seed the sample was drawn with (av-world), null when the dataset ignores it. */
  sampleSeed: number | null;
  sampleId: string;
  backend: string;
  cache: unknown;
}

export class ReferenceStore {
  private readonly byKey = new Map<string, ReferenceAnswer>();
  private readonly file: string | null;
  /** The file ends in a torn line: the next append starts with a newline. */
  private tornTail = false;

  /** `dir` null keeps answers in memory only. */
  constructor(dir: string | null) {
    this.file = dir ? join(dir, REFERENCE_JSONL) : null;
    if (this.file && existsSync(this.file)) {
      const text = readFileSync(this.file, 'utf8');
      this.tornTail = text.length > 0 && !text.endsWith('\n');
      const lines = text.split('\n');
      lines.pop(); // the part after the last newline is torn or empty
      for (const line of lines) {
        if (!line) continue;
        try {
          const r = JSON.parse(line) as { key: string } & ReferenceAnswer;
          this.byKey.set(r.key, { predicted: r.predicted, answerDistribution: r.answerDistribution, ...(r.generated && { generated: r.generated }) });
        } catch {
          // A complete but unreadable line only costs a recomputation.
        }
      }
    }
  }

  static keyOf(k: ReferenceKey): string {
    return stableHash(k, 24);
  }

  get(key: string): ReferenceAnswer | undefined {
    return this.byKey.get(key);
  }

  set(key: string, answer: ReferenceAnswer): void {
    const a: ReferenceAnswer = { predicted: answer.predicted, answerDistribution: Array.from(answer.answerDistribution), ...(answer.generated && { generated: answer.generated }) };
    this.byKey.set(key, a);
    if (!this.file) return;
    const fd = openSync(this.file, 'a');
    try {
      // A torn tail from an earlier kill must not swallow this line: start on a fresh line.
      writeSync(fd, `${this.tornTail ? '\n' : ''}${JSON.stringify({ key, ...a })}\n`);
      fsyncSync(fd);
      this.tornTail = false;
    } finally {
      closeSync(fd);
    }
  }
}
