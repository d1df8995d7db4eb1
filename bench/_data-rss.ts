/**
 * Peak RSS of walking a JSONL dataset the way the runner does, in a child process per
 * measurement (so each peak is that walk's alone). Used by `npm run bench -- data` and its
 * smoke test (test/runner/lazy-memory.test.ts).
 *
 * As a script: `node --import tsx bench/_data-rss.ts FILE.jsonl COUNT lazy|eager` prints one
 * JSON line {count, mode, peakRssBytes, retainedBytes, checksum}. `lazy` goes through DatasetSource
 * (the runner's path: an index, one sample's files built at a time); `eager` loads every
 * sample's files first (loadJsonlDataset), the old behaviour, for comparison.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { QASample } from '../src/model/prompt.js';
import { DatasetSource } from '../src/runner/dataset-source.js';
import { loadJsonlDataset } from '../src/runner/jsonl-dataset.js';
import { sampleUnits } from '../src/runner/turns.js';

/** 1 MiB of f32 per sample: 4,096 tokens × 64 (stories260K's hidden size). */
export const TOKENS_PER_SAMPLE = 4096;
export const HIDDEN = 64;

export interface RssResult {
  count: number;
  mode: 'lazy' | 'eager';
  peakRssBytes: number;
  /** ArrayBuffer bytes still reachable after the walk and a full GC (what the dataset holds on to). */
  retainedBytes: number;
  checksum: number;
}

/** Writes `count` samples, each with its own 1 MiB raw f32 embeddings file; returns the JSONL path. */
export function writeRssDataset(dir: string, count: number): string {
  mkdirSync(join(dir, 'emb'), { recursive: true });
  const data = new Float32Array(TOKENS_PER_SAMPLE * HIDDEN);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    data.fill(i % 97); // content differs per sample, so a checksum shows each file was read
    writeFileSync(join(dir, 'emb', `s${i}.f32`), new Uint8Array(data.buffer));
    const prompt = [{ text: 'Look:' }, { modality: 'video', embeddings: `emb/s${i}.f32`, n: TOKENS_PER_SAMPLE }, { text: ' Is it red?' }];
    lines.push(JSON.stringify({ id: `s${i}`, prompt, choices: [' yes', ' no'], answer: i % 2 }));
  }
  const file = join(dir, 'qa.jsonl');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** Runs one walk in a child process and returns its peak RSS. */
export function measureRss(jsonl: string, count: number, mode: 'lazy' | 'eager'): RssResult {
  const here = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', here, jsonl, String(count), mode], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`data-rss child (${mode}, ${count}) failed with status ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as RssResult;
}

/** Sums every embedding value of the sample, as an executor touches all of them. */
function touch(sample: QASample): number {
  let sum = 0;
  for (const seg of sample.prompt.segments) if (seg.kind === 'embeddings' || seg.kind === 'features') for (const x of seg.data) sum += x;
  return sum;
}

async function child(jsonl: string, count: number, mode: 'lazy' | 'eager'): Promise<void> {
  let checksum = 0;
  let held: unknown; // what the run keeps between trials: every sample (eager) or the DatasetSource (lazy)
  if (mode === 'eager') {
    const all = loadJsonlDataset(jsonl, count);
    for (const s of all) checksum += touch(s);
    held = all;
  } else {
    const source = new DatasetSource({ kind: 'jsonl', path: jsonl }, '.');
    for (const [s] of sampleUnits(await source.samples(count, 0), 'query-aware')) {
      checksum += touch(s!);
      await new Promise((r) => setTimeout(r, 0)); // the runner yields between samples too
    }
    held = source;
  }
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  (globalThis as { gc?: () => void }).gc?.();
  const retainedBytes = process.memoryUsage().arrayBuffers;
  process.stdout.write(`${JSON.stringify({ count, mode, peakRssBytes, retainedBytes, checksum } satisfies RssResult)}\n`);
  if (!held) throw new Error('unreachable: the walk held nothing');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [jsonl, count, mode] = process.argv.slice(2);
  if (!jsonl || !count || (mode !== 'lazy' && mode !== 'eager')) {
    process.stderr.write('usage: node --import tsx bench/_data-rss.ts FILE.jsonl COUNT lazy|eager\n');
    process.exit(2);
  }
  await child(jsonl, Number(count), mode);
}
