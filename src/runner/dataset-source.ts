/**
 * Where a trial's samples come from: the av-world generator (presets, drawn with the trial's
 * seed) or a JSONL file (its first N samples; the seed does not change them). Samples are
 * cached per (dataset, seed) so every trial of a run sees the same objects; JSONL samples load
 * their prompt lazily (lazy-jsonl.ts), so the cache holds an index, not the embedding files.
 */
import { resolve } from 'node:path';
import type { QASample } from '../model/prompt.js';
import type { DatasetSpec } from './config-schema.js';
import { LazyJsonlDataset } from './lazy-jsonl.js';
import { stableHash } from './stable-hash.js';

export class DatasetSource {
  private readonly cache = new Map<string, QASample[]>();

  /** `baseDir`: directory relative dataset paths are resolved against (the config file's). */
  constructor(
    private readonly spec: DatasetSpec,
    private readonly baseDir: string,
  ) {}

  /** The seed that selects samples, or null when the dataset ignores it (JSONL). */
  sampleSeed(seed: number): number | null {
    return this.spec.kind === 'av-world' ? seed : null;
  }

  async samples(count: number, seed: number): Promise<QASample[]> {
    const key = stableHash({ count, seed: this.sampleSeed(seed) });
    let s = this.cache.get(key);
    if (!s) {
      s = await this.load(count, seed);
      if (s.length < count) {
        throw new Error(`dataset ${this.describe()}: asked for samples: ${count}, but it holds only ${s.length}`);
      }
      this.cache.set(key, s);
    }
    return s;
  }

  describe(): string {
    return this.spec.kind === 'av-world' ? `av-world:${this.spec.preset}/${this.spec.split}` : this.spec.path;
  }

  private async load(count: number, seed: number): Promise<QASample[]> {
    if (this.spec.kind === 'jsonl') return LazyJsonlDataset.open(resolve(this.baseDir, this.spec.path), count).samples();
    const { avWorldSamples, avWorldClipQuestions, presetByName, withFrames } = await import('../datasets/av-world/index.js');
    let preset;
    try {
      preset = presetByName(this.spec.preset);
      if (this.spec.frames !== undefined) preset = withFrames(preset, this.spec.frames);
    } catch (e) {
      throw new Error(`dataset.preset: ${(e as Error).message}`);
    }
    const perClip = this.spec.questionsPerClip ?? 1;
    const families = this.spec.families;
    if (perClip > 1) return avWorldClipQuestions({ preset, split: this.spec.split, count, seed, perClip, families });
    return avWorldSamples({ preset, split: this.spec.split, count, seed, families });
  }
}
