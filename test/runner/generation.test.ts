/**
 * Generation tasks end to end on stories260K: a JSONL dataset of reference answers, greedy
 * generation over the compressed cache, text metrics and fidelity in the rows, the generated
 * text in predictions.jsonl. The references are the model runtime's own greedy generation
 * with no policy (src/model/generate.ts, a separate code path), so the full-cache trial must
 * score exact match 1.0 and every compressed trial's exact match equals the fraction of its
 * texts identical to the full cache's.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../src/model/generate.js';
import { loadModel } from '../../src/model/model.js';
import { loadJsonlDataset } from '../../src/runner/jsonl-dataset.js';
import { modelExecutorFactory } from '../../src/runner/model-executor.js';
import { PREDICTIONS_JSONL, type PredictionLine } from '../../src/runner/predictions.js';
import type { ResultRow } from '../../src/runner/result-row.js';
import { ReferenceStore } from '../../src/runner/reference-store.js';
import { expectCsvMatchesJsonl } from './csv-consistency.js';
import { writeReport } from '../../src/runner/report/report.js';
import { runExperiment, type RunSummary } from '../../src/runner/run-experiment.js';

const modelDir = fileURLToPath(new URL('../../../shared/models/stories260K', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'kvprism-generation-'));
const MAX_NEW = 12;
const prompts = [
  'Once upon a time, there was a little girl named Lily. She had a dog named Max. They went to the park to play with a big red ball. Lily said',
  'Tom was a big boy who liked to run fast. One day he saw a small bird in the tree. The bird was sad because',
  'The sun was hot and the sky was blue. Sam and his mom went to the beach to swim in the water. Sam found a shell and',
];

const devNull = new Writable({ write: (_c, _e, done) => done() }) as unknown as NodeJS.WriteStream;
const quiet = { live: false, log: () => {}, progressStream: devNull };

/** Everything but timings, memory peaks and the finishing time. */
function deterministic(r: ResultRow): Record<string, unknown> {
  const { wall_ms: _w, prefill_ms: _p, compression_ms: _c, decode_ms_per_token: _d, decode_ms_median: _m, finished_at: _f, peak_rss_bytes: _r, ...rest } = r;
  return rest;
}

let references: string[];
let shared: RunSummary;
let own: RunSummary;
beforeAll(async () => {
  const model = loadModel(modelDir);
  references = prompts.map((p) => generate(model, { segments: [{ kind: 'text', text: p }] }, { maxNewTokens: MAX_NEW, temperature: 0 }).text);
  const lines = prompts.map((p, i) => JSON.stringify({ id: `s${i}`, family: i < 2 ? 'a' : 'b', prompt: p, reference: i === 1 ? [references[i], 'another answer'] : references[i], maxNewTokens: MAX_NEW }));
  writeFileSync(join(work, 'gen.jsonl'), lines.join('\n'));
  writeFileSync(
    join(work, 'gen.yaml'),
    `name: gen
model: ${modelDir}
dataset: { kind: jsonl, path: gen.jsonl }
samples: 3
backend: ts
protocol: [query-aware, query-agnostic]
policies: [full, streaming-llm, snapkv]
budgets: ['10%', '60%']
metrics: [accuracy, fidelity, memory, latency]
`,
  );
  shared = await runExperiment({ configFile: join(work, 'gen.yaml'), out: join(work, 'shared'), ...quiet });
  own = await runExperiment({ configFile: join(work, 'gen.yaml'), out: join(work, 'own'), sharedPrefill: false, ...quiet });
}, 240_000);

describe('generation sweep', () => {
  it('runs every trial', () => {
    expect(shared.failed).toEqual([]);
    expect(shared.rows).toHaveLength(10);
    expect(references.every((r) => r.trim().length > 0)).toBe(true);
  });

  it('the full cache reproduces the runtime’s greedy text: exact match 1, identical to itself', () => {
    for (const full of shared.rows.filter((r) => r.policy === 'full')) {
    expect(full.exact_match).toBe(1);
    expect(full.accuracy).toBe(1);
    expect(full.contains).toBe(1);
    expect(full.bleu_4).toBeCloseTo(1, 6);
    expect(full.rouge_l).toBeCloseTo(1, 6);
    expect(full.text_identical).toBe(1);
    expect(full.token_agreement).toBe(1);
    expect(full.kl).toBeNull();
    expect(full.top1_agreement).toBeNull();
    }
  });

  it('compressed trials score at most the full cache, and exact match is their identical-text rate', () => {
    const compressed = shared.rows.filter((r) => r.policy !== 'full');
    for (const r of compressed) {
      const full = shared.rows.find((f) => f.policy === 'full' && f.protocol === r.protocol)!;
      expect(r.exact_match!).toBeLessThanOrEqual(full.exact_match!);
      expect(r.exact_match).toBe(r.text_identical);
      expect(r.bleu_4!).toBeLessThanOrEqual(full.bleu_4! + 1e-9);
      expect(r.token_agreement!).toBeGreaterThanOrEqual(0);
      expect(r.token_agreement!).toBeLessThanOrEqual(1);
    }
    // A 10% cache of a ~40-token story changes what the model writes.
    expect(Math.min(...compressed.map((r) => r.token_agreement!))).toBeLessThan(1);
  });

  it('shared and own prefills record identical rows', () => {
    expect(own.failed).toEqual([]);
    const byId = (s: RunSummary) => new Map(s.rows.map((r) => [r.trial_id, deterministic(r)]));
    expect(byId(own)).toEqual(byId(shared));
  });

  it('predictions.jsonl carries each sample’s generated text and references', () => {
    const lines = readFileSync(join(work, 'shared', PREDICTIONS_JSONL), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as PredictionLine);
    expect(lines).toHaveLength(10 * 3);
    const full = shared.rows.find((r) => r.policy === 'full')!;
    const fullLines = lines.filter((l) => l.trial_id === full.trial_id);
    expect(fullLines.map((l) => l.generated_text)).toEqual(references);
    expect(fullLines.every((l) => l.correct && l.same_text_as_full === true && l.answer_logprob === null)).toBe(true);
    expect(fullLines[1]!.reference).toEqual([references[1], 'another answer']);
    for (const l of lines) {
      expect(typeof l.generated_text).toBe('string');
      expect(l.choice_text).toBe(l.generated_text);
      expect(l.generated_tokens).toBeLessThanOrEqual(MAX_NEW);
    }
  });

  it('multi-turn refuses generation samples with a clear message', async () => {
    const ex = await modelExecutorFactory({ modelDir, backend: 'ts', threads: 1 });
    const samples = loadJsonlDataset(join(work, 'gen.jsonl'));
    await expect(ex.runTurns!(samples, shared.trials[0]!)).rejects.toThrow('multi-turn: sample s0 is a generation sample; multi-turn asks closed-choice questions only');
  });

  it('reference.jsonl keeps the full cache’s generations, so a resumed run reuses them', () => {
    const saved = readFileSync(join(work, 'shared', 'reference.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { key: string });
    const store = new ReferenceStore(join(work, 'shared'));
    const texts = saved.map((l) => store.get(l.key)?.generated?.text);
    // One reference per sample and protocol; the query-aware ones are the runtime's texts.
    expect(texts).toHaveLength(6);
    for (const r of references) expect(texts).toContain(r);
    expect(saved.every((l) => (store.get(l.key)?.generated?.tokens.length ?? 0) > 0)).toBe(true);
  });

  it('results.csv carries the generation columns, equal to the JSONL rows', () => {
    const header = readFileSync(join(work, 'shared', 'results.csv'), 'utf8').split('\n')[0]!.split(',');
    expect(header).toEqual(expect.arrayContaining(['exact_match', 'contains', 'bleu_1', 'bleu_4', 'rouge_l', 'cider', 'token_agreement', 'text_identical']));
    expectCsvMatchesJsonl(join(work, 'shared'));
  });

  it('the report shows the generation tables', async () => {
    const { markdown: md } = await writeReport([join(work, 'shared')], { out: join(work, 'report'), plots: false });
    for (const title of ['Generation: exact match', 'Generation: corpus BLEU-4', 'Generation: ROUGE-L', 'Generation: CIDEr-D', 'Generation fidelity: token agreement']) expect(md).toContain(title);
  });
});
