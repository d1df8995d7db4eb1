/**
 * The multi-turn protocol on stories260K: a JSONL dataset of two clips (a story plus an
 * embeddings span) with two questions each. Samples with the same context form one
 * conversation: the context is prefilled once per clip (with shared prefill: once per clip
 * for all trials), compressed once, and the second question is asked after the first and its
 * reference answer, over the same cache. Shared and own prefills record the same rows, also
 * when some trials of a sample keep their own prefill.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { QASample } from '../../src/model/prompt.js';
import type { ExecutorFactory, TrialExecutor } from '../../src/runner/executor.js';
import { DatasetSource } from '../../src/runner/dataset-source.js';
import { loadJsonlDataset } from '../../src/runner/jsonl-dataset.js';
import { modelExecutorFactory } from '../../src/runner/model-executor.js';
import type { ResultRow } from '../../src/runner/result-row.js';
import { runExperiment, type RunSummary } from '../../src/runner/run-experiment.js';
import { sampleUnits } from '../../src/runner/turns.js';

const modelDir = fileURLToPath(new URL('../../../shared/models/stories260K', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'kvprism-multi-turn-'));
const span = (seed: number) => Float32Array.from({ length: 6 * 64 }, (_, i) => Math.sin(seed * 1000 + i) * 0.05);
writeFileSync(join(work, 'a.f32'), span(1));
writeFileSync(join(work, 'b.f32'), span(2));
const story = 'Once upon a time, there was a little girl named Lily. She had a dog named Max. They went to the park to play with a big red ball.';
const sample = (id: string, file: string, question: string, choices: string[], answer: number) =>
  JSON.stringify({ id, family: id.slice(0, 1), prompt: [{ text: story }, { modality: 'image', embeddings: file, n: 6 }, { text: question }], choices, answer });
writeFileSync(
  join(work, 'clips.jsonl'),
  [
    sample('a1', 'a.f32', ' The girl was named', [' Lily', ' Max'], 0),
    sample('b1', 'b.f32', ' The girl was named', [' Lily', ' Max'], 0),
    sample('a2', 'a.f32', ' The dog was named', [' Lily', ' Max'], 1),
    sample('b2', 'b.f32', ' They played with a', [' ball', ' cat'], 0),
  ].join('\n'),
);
const config = join(work, 'turns.yaml');
writeFileSync(
  config,
  `name: turns
model: ${modelDir}
dataset: { kind: jsonl, path: clips.jsonl }
samples: 4
decodeTokens: 2
backend: ts
protocol: [multi-turn, query-agnostic]
policies: [full, h2o, snapkv, retentivekv]
budgets: ['30%']
metrics: [accuracy, fidelity, memory, latency]
`,
);

/** The real executor, counting the prefills it runs (shared ones, per protocol). */
function counting(prefills: Record<string, number>): ExecutorFactory {
  return async (args) => {
    const inner = (await modelExecutorFactory(args)) as TrialExecutor & Required<Pick<TrialExecutor, 'prefillShared'>>;
    const prefillShared: TrialExecutor['prefillShared'] = (s, trial, gather) => {
      prefills[trial.protocol] = (prefills[trial.protocol] ?? 0) + 1;
      return inner.prefillShared(s, trial, gather);
    };
    return Object.assign(Object.create(inner) as TrialExecutor, { prefillShared });
  };
}

const devNull = new Writable({ write: (_c, _e, done) => done() }) as unknown as NodeJS.WriteStream;
const quiet = { live: false, log: () => {}, progressStream: devNull };
const deterministic = (r: ResultRow) => {
  const { wall_ms: _w, prefill_ms: _p, compression_ms: _c, decode_ms_per_token: _d, decode_ms_median: _m, finished_at: _f, peak_rss_bytes: _r, ...rest } = r;
  return rest;
};
/** The real executor, but H2O trials must watch their own prefill (as a policy whose store cannot observe would). */
const h2oOnOwnPrefill: ExecutorFactory = async (args) => {
  const inner = await modelExecutorFactory(args);
  const forkNeeds: TrialExecutor['forkNeeds'] = (trial) => (trial.policy === 'h2o' ? null : inner.forkNeeds!(trial));
  return Object.assign(Object.create(inner) as TrialExecutor, { forkNeeds });
};

const prefills: Record<string, number> = {};
let shared: RunSummary;
let own: RunSummary;
let mixed: RunSummary;
beforeAll(async () => {
  shared = await runExperiment({ configFile: config, out: join(work, 'shared'), executorFactory: counting(prefills), ...quiet });
  own = await runExperiment({ configFile: config, out: join(work, 'own'), sharedPrefill: false, ...quiet });
  mixed = await runExperiment({ configFile: config, out: join(work, 'mixed'), executorFactory: h2oOnOwnPrefill, ...quiet });
}, 240_000);

describe('multi-turn', () => {
  it('groups samples by context: equal prompts up to the question, whatever their order', () => {
    const samples: QASample[] = loadJsonlDataset(join(work, 'clips.jsonl'));
    expect(sampleUnits(samples, 'multi-turn').map((u) => u.map((s) => s.id))).toEqual([['a1', 'a2'], ['b1', 'b2']]);
    expect(sampleUnits(samples, 'query-agnostic')).toHaveLength(4);
  });

  it('av-world with questionsPerClip: samples share clips, which multi-turn groups into conversations', async () => {
    const source = new DatasetSource({ kind: 'av-world', preset: 'tiny', split: 'test', questionsPerClip: 3 }, work);
    const samples = await source.samples(7, 0);
    const units = sampleUnits(samples, 'multi-turn');
    expect(units.map((u) => u.length)).toEqual([3, 3, 1]);
    for (const u of units) expect(new Set(u.map((s) => s.family)).size).toBe(u.length); // distinct families per clip
    expect(new Set(samples.map((s) => s.id)).size).toBe(7);
  });

  it('prefills each clip\'s context once for all trials (query-agnostic: once per sample)', () => {
    expect(shared.failed).toEqual([]);
    expect(prefills).toEqual({ 'multi-turn': 2, 'query-agnostic': 4 });
  });

  it('records the same rows with shared and own prefills', () => {
    expect(own.failed).toEqual([]);
    const byId = (rows: ResultRow[]) => [...rows].sort((a, b) => a.trial_id.localeCompare(b.trial_id)).map(deterministic);
    expect(byId(shared.rows)).toEqual(byId(own.rows));
    // Trials kept on their own prefill amid forking ones: the same rows again.
    expect(mixed.failed).toEqual([]);
    expect(byId(mixed.rows)).toEqual(byId(own.rows));
  });

  it('asks the second question after the first and its answer, over the one compressed context', () => {
    const row = (protocol: string, policy: string) => shared.rows.find((r) => r.protocol === protocol && r.policy === policy)!;
    // Per question: the prompt grows by the earlier turn (question + answer) under multi-turn only.
    expect(row('multi-turn', 'full').prompt_tokens).toBeGreaterThan(row('query-agnostic', 'full').prompt_tokens);
    // The cache is measured after the context's one compression: the same as query-agnostic's.
    expect(row('multi-turn', 'h2o').kv_bytes).toBe(row('query-agnostic', 'h2o').kv_bytes);
    expect(row('multi-turn', 'h2o').kv_bytes!).toBeLessThan(row('multi-turn', 'full').kv_bytes!);
    expect(row('multi-turn', 'full').kl).toBe(0);
  });
});
