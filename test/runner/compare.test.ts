/**
 * Honest comparison: `compare` pairs per-sample predictions with bootstrap intervals, and
 * `report` never averages rows of different models, datasets or protocols under one label.
 * Run directories are written here with known per-sample outcomes, so every number is checked.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PREDICTIONS_JSONL, type PredictionLine } from '../../src/runner/predictions.js';
import { compareRuns, compareTable } from '../../src/runner/report/compare.js';
import { qualifyLabels } from '../../src/runner/report/contexts.js';
import { headlineTable, writeReport } from '../../src/runner/report/report.js';
import type { ResultRow } from '../../src/runner/result-row.js';
import { RESULTS_JSONL } from '../../src/runner/results-store.js';

const work = mkdtempSync(join(tmpdir(), 'kvprism-compare-'));
const bin = fileURLToPath(new URL('../../bin/kvprism.js', import.meta.url));
const N = 40;

interface TrialSpec {
  id: string;
  label: string;
  budget?: string;
  seed?: number;
  model?: string;
  dataset?: string;
  protocol?: string;
  storage?: string;
  /** Per sample: whether it was answered right, and its KL to the full cache. */
  correct: (i: number) => boolean;
  kl?: (i: number) => number;
}

function row(t: TrialSpec, accuracy: number): ResultRow {
  return {
    trial_id: t.id, trial_index: 0, label: t.label, policy: t.label.split('(')[0]!, options: {}, budget: t.budget ?? '20%', budget_ratio: 0.2, budget_tokens: null,
    schedule: 'after-prefill', seed: t.seed ?? 0, backend: 'ts', threads: 1, model: t.model ?? '/m/qwen', dataset: t.dataset ?? '/d/qa.jsonl', samples: N,
    accuracy, kl: 0, top1_agreement: 1, prompt_tokens: 100, logical_tokens: 20, slots: 20, kv_bytes: 1000, meta_bytes: 10, retention_bytes: 0, total_bytes: 1010,
    peak_rss_bytes: null, prefill_ms: 1, compression_ms: 1, decode_ms_per_token: 1, wall_ms: 10, shard: '0/1', finished_at: '2026-12-01T00:00:00.000Z', families: {},
    ...(t.protocol !== undefined && { protocol: t.protocol }),
    ...(t.storage !== undefined && { storage: t.storage }),
  };
}

function runDir(name: string, trials: TrialSpec[], { predictions = true } = {}): string {
  const dir = join(work, name);
  mkdirSync(dir);
  const lines: PredictionLine[] = [];
  const rows = trials.map((t) => {
    let right = 0;
    for (let i = 0; i < N; i++) {
      const ok = t.correct(i);
      right += ok ? 1 : 0;
      lines.push({ trial_id: t.id, sample_id: `s${i}`, family: 'f', label: t.label, budget: t.budget ?? '20%', seed: t.seed ?? 0, choice: ok ? 0 : 1, choice_text: ok ? ' yes' : ' no', answer: 0, correct: ok, answer_logprob: ok ? -0.1 : -2, kl: t.kl ? t.kl(i) : 0, evidence_kept: null, kv_bytes: 1000, total_bytes: 1010 });
    }
    return row(t, right / N);
  });
  writeFileSync(join(dir, RESULTS_JSONL), rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
  if (predictions) writeFileSync(join(dir, PREDICTIONS_JSONL), lines.map((p) => `${JSON.stringify(p)}\n`).join(''));
  return dir;
}

describe('kvprism compare', () => {
  // B answers right every sample A answers right, plus every fourth one A got wrong; its KL is higher.
  const a = runDir('a', [{ id: 'ta', label: 'snapkv', correct: (i) => i % 2 === 0, kl: () => 0.1 }]);
  const b = runDir('b', [{ id: 'tb', label: 'snapkv', correct: (i) => i % 2 === 0 || i % 4 === 1, kl: (i) => 0.1 + (i % 3) * 0.05 }]);

  it('pairs trials by label, budget and seed and reads verdicts off intervals that exclude zero', () => {
    const [pair, ...rest] = compareRuns(a, b, { resamples: 2000 });
    expect(rest).toEqual([]);
    expect(pair!.n).toBe(N);
    const acc = pair!.metrics.find((m) => m.metric === 'accuracy')!;
    expect([acc.meanA, acc.meanB, acc.diff.mean]).toEqual([0.5, 0.75, 0.25]);
    expect(acc.diff.lo).toBeGreaterThan(0);
    expect(acc.diff.hi).toBeLessThanOrEqual(0.5);
    expect(acc.verdict).toBe('better');
    const kl = pair!.metrics.find((m) => m.metric === 'kl')!;
    expect(kl.diff.mean).toBeCloseTo(0.05 * (13 + 13 * 2) / N, 12);
    expect(kl.verdict).toBe('worse'); // KL: lower is better
    expect(acc.diff.resamples).toBe(2000);
    expect(compareRuns(a, b, { resamples: 2000 })).toEqual(compareRuns(a, b, { resamples: 2000 })); // seeded
  });

  it('the same predictions on both sides are a tie with a zero interval', () => {
    const [pair] = compareRuns(a, a, { resamples: 500 });
    for (const m of pair!.metrics) {
      expect([m.diff.lo, m.diff.mean, m.diff.hi, m.verdict]).toEqual([0, 0, 0, 'tie']);
    }
  });

  it('selectors compare two trials of one directory; only shared sample ids are paired', () => {
    const one = runDir('one', [
      { id: 'x1', label: 'h2o', budget: '10%', correct: () => true },
      { id: 'x2', label: 'tova', budget: '10%', correct: (i) => i !== 3 },
    ]);
    const [pair] = compareRuns(one, one, { a: 'h2o@10%', b: 'x2', resamples: 1000 });
    const acc = pair!.metrics.find((m) => m.metric === 'accuracy')!;
    expect(acc.diff.mean).toBeCloseTo(-1 / N, 12);
    expect(acc.verdict).toBe('tie'); // one sample in forty is no evidence
    const sweep = runDir('sweep', ['10%', '50%'].flatMap((budget) => [
      { id: `h-${budget}`, label: 'h2o', budget, correct: () => budget === '50%' },
      { id: `t-${budget}`, label: 'tova', budget, correct: () => true },
    ]));
    // Both sides sweep budgets: paired budget by budget, never 10% against 50%.
    const byBudget = compareRuns(sweep, sweep, { a: 'h2o', b: 'tova', resamples: 200 });
    expect(byBudget.map((p) => [p.a.trial_id, p.b.trial_id])).toEqual([['h-10%', 't-10%'], ['h-50%', 't-50%']]);
    expect(byBudget.map((p) => p.metrics[0]!.diff.mean)).toEqual([1, 0]);
    expect(() => compareRuns(sweep, sweep, { a: 'h2o', b: 'tova@10%' })).toThrow(/side A has two trials for one pairing key \(h2o@10%@query-aware and h2o@50%@query-aware, seed 0\); narrow it with --pick-a label@budget@protocol, label@budget@protocol@storage or a trial id/);
    expect(() => compareRuns(one, one, { a: 'h2o@50%' })).toThrow(/compare --pick-a "h2o@50%": no trial of .* matches; expected a trial id, a label, label@budget, label@budget@protocol or label@budget@protocol@storage \(here: h2o@10%, tova@10%\)/);
  });

  it('refuses trials of different models or datasets, and runs without predictions', () => {
    const other = runDir('other-model', [{ id: 'to', label: 'snapkv', model: '/m/llama', correct: () => true }]);
    expect(() => compareRuns(a, other)).toThrow(/differ in model \(\/m\/qwen vs \/m\/llama\); paired differences need the same samples/);
    const bare = runDir('bare', [{ id: 'tn', label: 'snapkv', correct: () => true }], { predictions: false });
    expect(() => compareRuns(a, bare)).toThrow(/bare has no predictions\.jsonl lines for trial tn/);
    const unpaired = runDir('unpaired', [{ id: 'tu', label: 'h2o', correct: () => true }]);
    expect(() => compareRuns(a, unpaired)).toThrow(/no trial of .* has a partner in .*unpaired \(paired by label, budget, protocol, storage and seed\)/);
  });

  it('the CLI prints the table: n, interval and verdict per metric', () => {
    const r = spawnSync(process.execPath, [bin, 'compare', a, b, '--resamples', '1000'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('| A | B | metric | n | A | B | B − A | 95 % CI (1000 resamples) | verdict |');
    expect(r.stdout).toMatch(/\| snapkv@20% s0 \| snapkv@20% s0 \| accuracy ↑ \| 40 \| 0\.5000 \| 0\.7500 \| 0\.2500 \| \[0\.\d+, 0\.\d+\] \| better \|/);
    expect(compareTable(compareRuns(a, b, { resamples: 1000 }))).toBe(r.stdout.trimEnd());
  });
});

describe('report never pools different contexts under one label', () => {
  it('rows of one label from different models become separate, qualified rows', async () => {
    const qwen = runDir('r-qwen', [{ id: 'q1', label: 'snapkv', correct: () => true }]);
    const llama = runDir('r-llama', [{ id: 'l1', label: 'snapkv', model: '/m/llama', correct: () => false }]);
    const r = await writeReport([qwen, llama], { out: join(work, 'r-merged'), plots: false });
    expect(r.markdown).toContain('| snapkv [model=qwen] | 1.000 |');
    expect(r.markdown).toContain('| snapkv [model=llama] | 0.000 |');
    expect(r.markdown).not.toContain('0.500');
    expect(r.notes).toEqual(['"snapkv" covers rows that differ in model; they are kept apart as "snapkv [model=llama]", "snapkv [model=qwen]".']);
    expect(r.rows.map((x) => x.label)).toEqual(['snapkv', 'snapkv']); // the merged files keep the recorded labels
    expect(headlineTable(r.rows)).toContain('| snapkv [model=llama] | 0.000 |');
  });

  it('qualifies by dataset and protocol too, in full when last path segments collide; seeds still average', () => {
    const rows = [
      { ...row({ id: '1', label: 'h2o', dataset: '/x/qa.jsonl', correct: () => true }, 1), protocol: 'query-aware' },
      { ...row({ id: '2', label: 'h2o', dataset: '/y/qa.jsonl', correct: () => true }, 1), protocol: 'streaming' },
      { ...row({ id: '3', label: 'h2o', dataset: '/y/qa.jsonl', seed: 1, correct: () => true }, 1), protocol: 'streaming' },
    ];
    const q = qualifyLabels(rows);
    expect(q.rows.map((x) => x.label)).toEqual(['h2o [dataset=/x/qa.jsonl, protocol=query-aware]', 'h2o [dataset=/y/qa.jsonl, protocol=streaming]', 'h2o [dataset=/y/qa.jsonl, protocol=streaming]']);
    expect(qualifyLabels(rows.slice(1)).rows.map((x) => x.label)).toEqual(['h2o', 'h2o']);
  });

  it('pairs by protocol too; two explicit picks may cross protocols (same samples), and the table names them', () => {
    const dir = runDir('protocols', [
      { id: 'qa', label: 'snapkv', protocol: 'query-agnostic', correct: (i) => i % 2 === 0 },
      { id: 'st', label: 'snapkv', protocol: 'streaming', correct: (i) => i % 4 === 0 },
    ]);
    // Unpicked, each trial pairs with its own protocol's: no cross-protocol pair is made silently.
    expect(compareRuns(dir, dir, { resamples: 500 }).map((p) => [p.a.trial_id, p.b.trial_id])).toEqual([['qa', 'qa'], ['st', 'st']]);
    const [pair, ...rest] = compareRuns(dir, dir, { a: 'snapkv@20%@query-agnostic', b: 'snapkv@20%@streaming', resamples: 500 });
    expect(rest).toEqual([]);
    expect(pair!.metrics.find((m) => m.metric === 'accuracy')!.diff.mean).toBeCloseTo(-0.25, 12);
    expect(compareTable([pair!])).toContain('| snapkv@20%@query-agnostic s0 | snapkv@20%@streaming s0 | accuracy ↑ |');
    // One pick naming two protocols is ambiguous against one that names one.
    expect(() => compareRuns(dir, dir, { a: 'snapkv@20%@query-agnostic', b: 'snapkv@20%' })).toThrow(/side B has two trials .* label@budget@protocol, label@budget@protocol@storage or a trial id/);
    // The CLI says it in one line.
    const cli = spawnSync(process.execPath, [bin, 'compare', dir, dir, '--pick-a', 'snapkv@20%@query-agnostic', '--pick-b', 'snapkv@20%'], { encoding: 'utf8' });
    expect(cli.status).toBe(1);
    expect(cli.stderr).toMatch(/^kvprism: compare: side B has two trials/);
    expect(cli.stderr).not.toContain('    at ');
  });

  it('pairs by storage too; two explicit picks may cross storages, the table names them, the report keeps them apart', async () => {
    const dir = runDir('storages', [
      { id: 'f', label: 'snapkv', storage: 'f32', correct: (i) => i % 2 === 0 },
      { id: 'q', label: 'snapkv', storage: 'int4(R=0)', correct: (i) => i % 4 === 0 },
    ]);
    // Unpicked, each trial pairs with its own storage's: no cross-storage pair is made silently.
    expect(compareRuns(dir, dir, { resamples: 500 }).map((p) => [p.a.trial_id, p.b.trial_id])).toEqual([['f', 'f'], ['q', 'q']]);
    const [pair, ...rest] = compareRuns(dir, dir, { a: 'snapkv@20%@query-aware@f32', b: 'snapkv@20%@query-aware@int4(R=0)', resamples: 500 });
    expect(rest).toEqual([]);
    expect([pair!.a.storage, pair!.b.storage]).toEqual(['f32', 'int4(R=0)']);
    expect(pair!.metrics.find((m) => m.metric === 'accuracy')!.diff.mean).toBeCloseTo(-0.25, 12);
    expect(compareTable([pair!])).toContain('| snapkv@20%@f32 s0 | snapkv@20%@int4(R=0) s0 | accuracy ↑ |');
    expect(() => compareRuns(dir, dir, { a: 'snapkv@20%@query-aware@f32', b: 'snapkv@20%' })).toThrow(/side B has two trials for one pairing key \(snapkv@20%@query-aware@f32 and snapkv@20%@query-aware@int4\(R=0\), seed 0\)/);
    const r = await writeReport([dir], { out: join(work, 'r-storages'), plots: false });
    expect(r.markdown).toContain('| snapkv [storage=f32] | 0.500 |');
    expect(r.markdown).toContain('| snapkv [storage=int4(R=0)] | 0.250 |');
  });

  it('a directory damaged before the lock existed reports one row per trial and says how many it dropped', async () => {
    const dir = runDir('damaged', [{ id: 'd1', label: 'snapkv', correct: () => true }, { id: 'd2', label: 'h2o', correct: () => true }]);
    const first = row({ id: 'd1', label: 'snapkv', correct: () => true }, 0.25);
    writeFileSync(join(dir, RESULTS_JSONL), `${JSON.stringify(first)}\n${JSON.stringify(row({ id: 'd2', label: 'h2o', correct: () => true }, 1))}\n${JSON.stringify({ ...first, accuracy: 0.75 })}\n`);
    const r = await writeReport([dir], { plots: false });
    expect(r.rows.map((x) => [x.trial_id, x.accuracy]).sort()).toEqual([['d1', 0.75], ['d2', 1]]);
    expect(r.repeatedWithin).toEqual([{ dir, dropped: 1 }]);
    const cli = spawnSync(process.execPath, [bin, 'report', dir, '--no-plots'], { encoding: 'utf8' });
    expect(cli.stderr).toContain(`report: ${dir}: 1 repeated rows dropped (a trial id recorded twice; kept the last complete row)`);
  });
});
