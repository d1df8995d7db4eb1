import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ResultRow } from '../../src/runner/result-row.js';
import { parseCsv } from '../../src/runner/result-row.js';
import { RESULTS_CSV, RESULTS_JSONL, ResultsStore, parseResultsJsonl } from '../../src/runner/results-store.js';
import { expectCsvMatchesJsonl } from './csv-consistency.js';

/** A row with awkward strings (commas, quotes, newline, unicode) and nulls, to stress CSV. */
function row(i: number): ResultRow {
  return {
    trial_id: `t${i.toString().padStart(3, '0')}`,
    trial_index: i,
    label: i % 2 ? `snapkv(window=${i},kernel="5")` : 'full cache',
    policy: i % 2 ? 'snapkv' : 'full',
    options: i % 2 ? { window: i, note: 'a,b\n"c" → ü' } : {},
    budget: i % 2 ? `${i}%` : 'full',
    budget_ratio: i % 2 ? i / 100 : null,
    budget_tokens: null,
    schedule: 'after-prefill',
    seed: i,
    backend: 'ts',
    threads: 2,
    model: 'm',
    dataset: 'd.jsonl',
    samples: 4,
    accuracy: i / 7,
    kl: i % 3 ? 0.1 * i : null,
    top1_agreement: 1 - i / 50,
    evidence_kept: i % 2 ? 0.5 + i / 100 : null,
    prompt_tokens: 50.25,
    logical_tokens: 10 + i,
    slots: 200,
    kv_bytes: 12800,
    meta_bytes: 4000,
    retention_bytes: 0,
    total_bytes: 16800,
    peak_rss_bytes: 1e8 + i,
    prefill_ms: 12.5,
    compression_ms: 0.25,
    decode_ms_per_token: 1.125,
    wall_ms: 100 + i,
    shard: '0/1',
    finished_at: '2026-11-24T16:00:00.000Z',
    families: { a: { n: 2, accuracy: 0.5 } },
  };
}

const fresh = (): string => mkdtempSync(join(tmpdir(), 'kvprism-store-'));

describe('results store', () => {
  it('appends rows that the CSV mirrors exactly', () => {
    const dir = fresh();
    const store = ResultsStore.open(dir, { fresh: true });
    for (let i = 0; i < 5; i++) store.append(row(i));
    store.close();
    expectCsvMatchesJsonl(dir);
    // One accuracy column per question family, one plain column per policy option.
    const csv = parseCsv(readFileSync(join(dir, RESULTS_CSV), 'utf8'));
    expect(csv[0]!.slice(-3)).toEqual(['accuracy_a', 'option_note', 'option_window']);
    expect(csv.slice(1).map((r) => r.slice(-3))).toEqual([['0.5', '', ''], ['0.5', 'a,b\n"c" → ü', '1'], ['0.5', '', ''], ['0.5', 'a,b\n"c" → ü', '3'], ['0.5', '', '']]);
    expect(() => ResultsStore.open(dir, { fresh: true })).toThrow(/pass --resume/);
    const again = ResultsStore.open(dir);
    expect(() => again.append(row(2))).toThrow(/already recorded/);
    again.close();
  });

  it('a kill at any byte loses no finished row and leaves no torn or duplicated one', () => {
    const n = 4;
    const full = Buffer.from(Array.from({ length: n }, (_, i) => `${JSON.stringify(row(i))}\n`).join(''));
    // Cuts on and around every line boundary, plus a prime stride through each line's body
    // (what a cut does depends only on the lines it completes and whether a tail remains).
    const cuts = new Set<number>();
    for (let i = 0; i <= full.length; i++) {
      if (full[i - 1] === 0x0a || i === 0 || i === full.length) for (let d = -2; d <= 2; d++) cuts.add(Math.min(full.length, Math.max(0, i + d)));
      if (i % 89 === 0) cuts.add(i);
    }
    for (const cut of cuts) {
      const dir = fresh();
      writeFileSync(join(dir, RESULTS_JSONL), full.subarray(0, cut));
      const committed = full.subarray(0, cut).filter((b) => b === 0x0a).length;
      const store = ResultsStore.open(dir);
      expect(store.rows().map((r) => r.trial_id)).toEqual(Array.from({ length: committed }, (_, i) => row(i).trial_id));
      expectCsvMatchesJsonl(dir);
      // Resuming runs exactly the trials not yet recorded.
      for (let i = 0; i < n; i++) if (!store.has(row(i).trial_id)) store.append(row(i));
      store.close();
      expect(readFileSync(join(dir, RESULTS_JSONL)).equals(full)).toBe(true);
      expectCsvMatchesJsonl(dir);
    }
  });

  it('repeated trial ids (two writers) are kept once, the last complete row wins, and the file is rewritten', () => {
    const dir = fresh();
    const later = { ...row(0), accuracy: 0.875, finished_at: '2026-11-24T17:00:00.000Z' };
    const text = [row(0), row(1), later, row(2)].map((r) => `${JSON.stringify(r)}\n`).join('');
    writeFileSync(join(dir, RESULTS_JSONL), `${text}${JSON.stringify(row(0)).slice(0, 40)}`);
    const store = ResultsStore.open(dir);
    expect(store.repaired.duplicates).toBe(1);
    store.close();
    const kept = parseResultsJsonl(readFileSync(join(dir, RESULTS_JSONL))).rows;
    expect(kept.map((r) => r.trial_id)).toEqual(['t000', 't001', 't002']);
    expect(kept[0]).toEqual(later);
    expectCsvMatchesJsonl(dir);
  });

  it('a complete line that is not JSON is an error naming file and line', () => {
    const dir = fresh();
    writeFileSync(join(dir, RESULTS_JSONL), `${JSON.stringify(row(0))}\nnot json\n`);
    expect(() => ResultsStore.open(dir)).toThrow(/results\.jsonl:2: not a JSON result row/);
  });
});
