/**
 * The streaming protocol on stories260K: a JSONL dataset whose prompts are a story, then a
 * "video" span of 4 frames × 3 tokens (embeddings with per-token times), then a question. The
 * context streams in chunk by chunk (one frame, or cache.prefillChunk tokens) and the policy
 * holds the cache at budget after every chunk; a sample naming `questionAt` is asked when the
 * stream reaches that time. Shared and own prefills record the same rows.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadJsonlDataset } from '../../src/runner/jsonl-dataset.js';
import type { ResultRow } from '../../src/runner/result-row.js';
import { runExperiment, type RunSummary } from '../../src/runner/run-experiment.js';
import { loadModelConfig } from '../../src/model/config.js';

const modelDir = fileURLToPath(new URL('../../../shared/models/stories260K', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'kvprism-streaming-'));
const frames = 4;
const perFrame = 3;
const span = (seed: number) => Float32Array.from({ length: frames * perFrame * 64 }, (_, i) => Math.sin(seed * 1000 + i) * 0.05);
writeFileSync(join(work, 'a.f32'), span(1));
writeFileSync(join(work, 'b.f32'), span(2));
const times = Array.from({ length: frames * perFrame }, (_, i) => Math.floor(i / perFrame) * 0.5);
const story = 'Once upon a time, there was a little girl named Lily. She had a dog named Max.';
const sample = (id: string, file: string, extra: object = {}) =>
  JSON.stringify({ id, prompt: [{ text: story }, { modality: 'video', embeddings: file, n: frames * perFrame, time: times }, { text: ' The girl was named' }], choices: [' Lily', ' Max'], answer: 0, ...extra });
writeFileSync(join(work, 'clips.jsonl'), [sample('a', 'a.f32'), sample('b', 'b.f32'), sample('late', 'a.f32', { questionAt: 0.7 })].join('\n'));

const config = (name: string, extra: string) => {
  const file = join(work, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
model: ${modelDir}
dataset: { kind: jsonl, path: clips.jsonl }
samples: 3
decodeTokens: 2
backend: ts
policies: [full, h2o, snapkv, streaming-llm]
budgets: ['30%']
metrics: [accuracy, fidelity, memory, latency]
${extra}`,
  );
  return file;
};

const devNull = new Writable({ write: (_c, _e, done) => done() }) as unknown as NodeJS.WriteStream;
const quiet = { live: false, log: () => {}, progressStream: devNull };
const deterministic = (r: ResultRow) => {
  const { wall_ms: _w, prefill_ms: _p, compression_ms: _c, decode_ms_per_token: _d, decode_ms_median: _m, finished_at: _f, peak_rss_bytes: _r, ...rest } = r;
  return rest;
};
const byId = (rows: ResultRow[]) => [...rows].sort((a, b) => a.trial_id.localeCompare(b.trial_id)).map(deterministic);

let frameRun: RunSummary;
let frameOwn: RunSummary;
let tokenRun: RunSummary;
beforeAll(async () => {
  const frame = config('frames', 'protocol: [query-agnostic, streaming]\n');
  frameRun = await runExperiment({ configFile: frame, out: join(work, 'frames'), ...quiet });
  frameOwn = await runExperiment({ configFile: frame, out: join(work, 'frames-own'), sharedPrefill: false, ...quiet });
  tokenRun = await runExperiment({ configFile: config('tokens', 'protocol: streaming\ncache: { prefillChunk: 8 }\n'), out: join(work, 'tokens'), ...quiet });
}, 240_000);

const row = (s: RunSummary, protocol: string, policy: string) => s.rows.find((r) => r.protocol === protocol && r.policy === policy)!;

describe('streaming protocol', () => {
  it('runs every trial and names its protocol', () => {
    expect(frameRun.failed).toEqual([]);
    for (const r of frameRun.rows) expect(r.decode_ms_median).toBeGreaterThan(0); // each step timed
    expect(tokenRun.failed).toEqual([]);
    expect(frameRun.rows.filter((r) => r.protocol === 'streaming')).toHaveLength(4);
    expect(tokenRun.rows.every((r) => r.protocol === 'streaming')).toBe(true);
  });

  it('asks a questionAt sample when the stream reaches that time (later frames never enter the cache)', () => {
    expect(loadJsonlDataset(join(work, 'clips.jsonl'))[2]!.questionAt).toBe(0.7);
    // Frames at 1.0 s and 1.5 s (6 tokens) of the third sample are cut: the mean prompt is 2 tokens shorter.
    expect(row(frameRun, 'query-agnostic', 'full').prompt_tokens - row(frameRun, 'streaming', 'full').prompt_tokens).toBeCloseTo(2, 9);
  });

  it('holds the cache near its budget while the stream comes in: peak = budget + one chunk', () => {
    const c = loadModelConfig(modelDir);
    const perToken = 2 * c.numLayers * c.kvHeads * c.headDim * 4;
    for (const policy of ['h2o', 'snapkv', 'streaming-llm']) {
      const r = row(tokenRun, 'streaming', policy);
      expect(r.kv_peak_bytes!).toBeLessThanOrEqual(r.kv_bytes! + 8 * perToken);
      // The one-pass prefill peaks at the whole context.
      expect(r.kv_peak_bytes!).toBeLessThan(row(frameRun, 'query-agnostic', policy).kv_peak_bytes!);
    }
    // The full cache never compresses: it peaks at what it ends with.
    const full = row(tokenRun, 'streaming', 'full');
    expect(full.kv_peak_bytes).toBe(full.kv_bytes);
  });

  it('ends at the budget a one-pass prefill keeps (samples without questionAt), and the policy acted mid-stream', () => {
    const lines = (run: string) =>
      readFileSync(join(work, run, 'predictions.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { label: string; sample_id: string; kv_bytes: number; answer_logprob: number; trial_id: string });
    const qa = frameRun.rows.filter((r) => r.protocol === 'query-agnostic');
    const st = frameRun.rows.filter((r) => r.protocol === 'streaming');
    const pick = (rows: ResultRow[], policy: string, id: string) => lines('frames').find((l) => l.trial_id === rows.find((r) => r.policy === policy)!.trial_id && l.sample_id === id)!;
    for (const policy of ['h2o', 'snapkv']) {
      expect(pick(st, policy, 'a').kv_bytes).toBe(pick(qa, policy, 'a').kv_bytes);
    }
    // H2O ranks by attention accumulated so far: streamed, it evicted before seeing the later frames.
    expect(pick(st, 'h2o', 'a').answer_logprob).not.toBe(pick(qa, 'h2o', 'a').answer_logprob);
  });

  it('records the same rows with shared and own prefills (holding trials keep their own prefill)', () => {
    expect(frameOwn.failed).toEqual([]);
    expect(byId(frameRun.rows)).toEqual(byId(frameOwn.rows));
  });
});
