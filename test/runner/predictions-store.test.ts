/** predictions.jsonl follows results.jsonl's rules: recorded trials only, no torn or repeated line. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PREDICTIONS_JSONL, type PredictionLine } from '../../src/runner/predictions.js';
import { parsePredictions, readPredictions } from '../../src/runner/predictions-store.js';
import type { ResultRow } from '../../src/runner/result-row.js';
import { RESULTS_JSONL, ResultsStore } from '../../src/runner/results-store.js';

const line = (trial: string, sample: string, choice = 0): PredictionLine => ({
  trial_id: trial, sample_id: sample, family: 'f', label: trial, budget: '20%', seed: 0, choice, choice_text: ` c${choice}`,
  answer: 0, correct: choice === 0, answer_logprob: -0.5, kl: 0.01, evidence_kept: null, kv_bytes: 100, total_bytes: 150,
});
const row = (trial: string) => ({ trial_id: trial, trial_index: 0, label: trial, families: {} }) as unknown as ResultRow;
const text = (ls: PredictionLine[]) => ls.map((p) => `${JSON.stringify(p)}\n`).join('');

describe('predictions store', () => {
  it('keeps the lines of recorded trials only, drops a torn tail and keeps the last of repeated lines', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvprism-pred-'));
    writeFileSync(join(dir, RESULTS_JSONL), `${JSON.stringify(row('a'))}\n`);
    // a: recorded (with one sample written twice: the later line wins); b: killed before its row.
    const body = text([line('a', 's1'), line('a', 's2'), line('b', 's1'), line('a', 's2', 1)]);
    writeFileSync(join(dir, PREDICTIONS_JSONL), `${body}{"trial_id":"b","sam`);
    const store = ResultsStore.open(dir);
    expect(readPredictions(dir).map((p) => [p.trial_id, p.sample_id, p.choice])).toEqual([['a', 's1', 0], ['a', 's2', 1]]);
    // Resuming b writes its lines then its row; nothing of the killed attempt survives.
    store.appendPredictions([line('b', 's1', 1), line('b', 's2')]);
    store.append(row('b'));
    expect(() => store.appendPredictions([line('b', 's3')])).toThrow(/predictions of trial b come after its row/);
    store.close();
    const lines = readFileSync(join(dir, PREDICTIONS_JSONL), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as PredictionLine);
    expect(lines.map((p) => `${p.trial_id}/${p.sample_id}/${p.choice}`)).toEqual(['a/s1/0', 'a/s2/1', 'b/s1/1', 'b/s2/0']);
  });

  it('a complete line that is not JSON names the file and line', () => {
    expect(() => parsePredictions(`${text([line('a', 's1')])}oops\n`, 'p.jsonl')).toThrow(/p\.jsonl:2: not a JSON prediction line/);
    expect(() => parsePredictions('{"trial_id": 3}\n', 'p.jsonl')).toThrow(/p\.jsonl:1: expected trial_id and sample_id strings/);
  });
});
