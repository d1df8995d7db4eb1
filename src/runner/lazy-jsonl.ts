/**
 * A JSONL dataset that holds one sample's files at a time. Opening indexes the file (byte
 * offset and id of each sample line) and checks every line up front (schema, files probed, no
 * data read), so a bad line is reported before any row. `samples()` returns light sample
 * objects whose `prompt` is built on access: the line is read back and its embedding files
 * read then; the dataset keeps only the last built prompt (released when another sample is
 * asked for), so runners that go sample by sample hold one sample's data at a time.
 */
import type { Prompt, QASample } from '../model/prompt.js';
import { indexJsonlDataset, loadIndexedSample, type SampleInfo } from './jsonl-dataset.js';
import type { IndexedLine } from './jsonl-lines.js';

export class LazyJsonlDataset {
  private current: { index: number; sample: QASample } | null = null;
  /** How many times a sample was built from disk (tests and benches read it). */
  loads = 0;

  private constructor(
    readonly file: string,
    readonly lines: readonly IndexedLine<SampleInfo>[],
  ) {}

  /** Indexes and checks the first `limit` samples of `file`. */
  static open(file: string, limit = Infinity): LazyJsonlDataset {
    return new LazyJsonlDataset(file, indexJsonlDataset(file, limit));
  }

  get size(): number {
    return this.lines.length;
  }

  /** Sample `i`, built now (or the one built last, if it is the same). */
  load(i: number): QASample {
    if (this.current?.index === i) return this.current.sample;
    const line = this.lines[i];
    if (!line) throw new RangeError(`${this.file}: sample index ${i} is outside 0..${this.lines.length - 1}`);
    this.current = null; // drop the previous sample before reading the next
    const sample = loadIndexedSample(this.file, line);
    this.loads++;
    this.current = { index: i, sample };
    return sample;
  }

  /** Drops the sample built last. */
  release(): void {
    this.current = null;
  }

  /**
   * One object per sample: id, family, choices, answer and evidence from the index, `prompt`
   * built on access (the dataset's current sample is reused, any other is read from disk).
   */
  samples(): QASample[] {
    return this.lines.map((line, i) => {
      const s = { ...line.info } as QASample;
      // An own enumerable accessor, so a spread copy of the sample still carries its prompt.
      Object.defineProperty(s, 'prompt', { enumerable: true, get: (): Prompt => this.load(i).prompt });
      return s;
    });
  }
}
