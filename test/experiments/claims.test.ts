/**
 * How a paper claim is decided: paired per-sample differences from hand-made predictions
 * (a clear win confirms, a clear loss contradicts, a tie or a small difference on few samples
 * stays undecided), KL float noise as a tie, ablations, losses against the full cache,
 * graceful degradation, memory per sample, speed and layer trends read as aggregates, and
 * "not testable here" when a measurement is missing.
 */
import { describe, expect, it } from 'vitest';
import { evaluateClaims, type RunMeasurements } from '../../experiments/lib/claims.js';
import { readingOf } from '../../experiments/lib/contrast.js';
import type { Claim } from '../../experiments/lib/manifest.js';
import { differencesTable } from '../../experiments/lib/summary.js';
import type { PredictionLine } from '../../src/runner/predictions.js';
import type { ResultRow } from '../../src/runner/result-row.js';

function row(label: string, budget: string, m: Partial<ResultRow> = {}): ResultRow {
  const full = label === 'full cache';
  const ratio = budget.endsWith('%') ? Number(budget.slice(0, -1)) / 100 : null;
  return {
    trial_id: `${label}@${budget}`, trial_index: 0, label, policy: full ? 'full' : label, options: {}, budget: full ? 'full' : budget,
    budget_ratio: full ? null : ratio, budget_tokens: null, schedule: 'after-prefill', seed: 0, backend: 'ts', threads: 1, model: 'm', dataset: 'd',
    samples: 10, accuracy: null, kl: null, top1_agreement: null, prompt_tokens: 100, logical_tokens: null, slots: null, kv_bytes: null, meta_bytes: null,
    retention_bytes: null, total_bytes: null, peak_rss_bytes: null, prefill_ms: null, compression_ms: null, decode_ms_per_token: null, wall_ms: 1,
    shard: '0/1', finished_at: '', families: {}, ...m,
  };
}

/** One trial's prediction lines: sample i is right when correct[i]; kl and bytes per sample when given. */
function lines(label: string, budget: string, correct: boolean[], kl?: (i: number) => number, bytes?: (i: number) => number): PredictionLine[] {
  const full = label === 'full cache';
  return correct.map((c, i) => ({
    trial_id: `${label}@${full ? 'full' : budget}`, sample_id: `s${i}`, family: 'f', label, budget: full ? 'full' : budget, seed: 0,
    choice: c ? 0 : 1, choice_text: c ? 'yes' : 'no', answer: 0, correct: c, answer_logprob: c ? -0.1 : -2,
    kl: kl ? kl(i) : null, evidence_kept: null, kv_bytes: null, total_bytes: bytes ? bytes(i) : null,
  }));
}

const N = 40;
const all = (v: boolean): boolean[] => Array.from({ length: N }, () => v);
const pattern = (f: (i: number) => boolean): boolean[] => Array.from({ length: N }, (_, i) => f(i));

interface Trial { label: string; budget: string; correct: boolean[]; kl?: (i: number) => number; bytes?: (i: number) => number; row?: Partial<ResultRow> }

function measurements(trials: Trial[]): RunMeasurements {
  return {
    rows: trials.map((t) => row(t.label, t.budget, { samples: t.correct.length, ...t.row })),
    predictions: trials.flatMap((t) => lines(t.label, t.budget, t.correct, t.kl, t.bytes)),
  };
}

const claim = (check: Claim['check']): Claim => ({ id: 'c', claim: 'c', paper: 'p', check });
const decide = (run: RunMeasurements, check: Claim['check']) => evaluateClaims([claim(check)], new Map([['main', run]]), new Map())[0]!;

const run = measurements([
  { label: 'full cache', budget: 'full', correct: all(true), kl: () => 0, bytes: () => 1000 },
  { label: 'm', budget: '10%', correct: pattern((i) => i % 10 !== 0), kl: (i) => 0.05 + i * 1e-3, bytes: (i) => 140 + (i % 3) * 10 },
  // a: clearly worse than m (right on one sample in two).
  { label: 'a', budget: '10%', correct: pattern((i) => i % 2 === 0), kl: (i) => 0.05 + i * 1e-3 + 1e-6 },
  // b: clearly better than m on KL, and right on every sample.
  { label: 'b', budget: '10%', correct: all(true), kl: () => 0.001 },
  // t: as accurate as m but on other samples (a tie).
  { label: 't', budget: '10%', correct: pattern((i) => i % 10 !== 5) },
  { label: 'm', budget: '60%', correct: all(true) },
  { label: 'a', budget: '60%', correct: all(true) },
]);

const beats = (over: string[], metric = 'accuracy'): Claim['check'] => ({ kind: 'beats', run: 'main', metric, policy: 'm', over, budgets: ['10%'] });

describe('claim verdicts on paired bootstrap intervals', () => {
  it('a clear win confirms, with the paired sample count and an interval above zero', () => {
    const r = decide(run, beats(['a']));
    expect(r.verdict).toBe('confirmed');
    const c = r.comparisons[0]!;
    expect(c.diff.n).toBe(N);
    expect(c.diff.mean).toBeCloseTo(0.9 - 0.5, 10);
    expect(c.diff.lo).toBeGreaterThan(0);
    expect(c.diff.hi).toBeGreaterThan(c.diff.mean);
    expect(r.measured).toContain(`m @ 10% 0.900 (n ${N})`);
  });

  it('a clear loss contradicts', () => {
    const r = decide(run, beats(['b']));
    expect(r.comparisons[0]!.diff.hi).toBeLessThan(0);
    expect(r.verdict).toBe('contradicted');
    // One clear loss contradicts "beats all" even next to a clear win.
    expect(decide(run, beats(['a', 'b'])).verdict).toBe('contradicted');
  });

  it('a tie, and a small difference on few samples, stay undecided', () => {
    const tie = decide(run, beats(['t']));
    expect(tie.comparisons[0]!.diff.mean).toBe(0);
    expect(tie.verdict).toBe('undecided');
    // 5 of 8 against 4 of 8: a higher mean, which the old rule (strictly larger) confirmed.
    const small = measurements([
      { label: 'm', budget: '10%', correct: [true, true, true, true, true, false, false, false] },
      { label: 'a', budget: '10%', correct: [true, true, true, false, false, true, false, false] },
    ]);
    const r = decide(small, beats(['a']));
    expect(r.comparisons[0]!.diff.mean).toBeCloseTo(0.125, 10);
    expect(r.verdict).toBe('undecided');
  });

  it('joins on sample id, whatever the line order, and counts unpaired samples out of n', () => {
    const shuffled = { ...run, predictions: [...run.predictions].reverse().filter((p) => !(p.label === 'a' && p.sample_id === 's3')) };
    const c = decide(shuffled, beats(['a'])).comparisons[0]!;
    expect(c.diff.n).toBe(N - 1);
    expect(c.unpaired).toBe(1);
    // s3 (m right, a wrong) leaves: m right on 35 of the 39, a on 20.
    expect(c.diff.mean).toBeCloseTo((36 - 1 - (20 - 0)) / (N - 1), 10);
  });

  it('sides with several seeds join seed by seed; a single full-cache trial pairs with each seed', () => {
    const seeded = (label: string, budget: string, seed: number, correct: boolean[]) => ({
      row: row(label, budget, { trial_id: `${label}@${budget}#${seed}`, seed, samples: correct.length }),
      lines: lines(label, budget, correct).map((p) => ({ ...p, trial_id: `${label}@${budget}#${seed}`, seed })),
    });
    // m is right on s0 under seed 0 only, a under seed 1 only: paired seed by seed they cancel.
    const trials = [
      seeded('full cache', 'full', 0, [true, true]),
      seeded('m', '10%', 0, [true, false]),
      seeded('m', '10%', 1, [false, false]),
      seeded('a', '10%', 0, [false, false]),
      seeded('a', '10%', 1, [true, false]),
    ];
    const r: RunMeasurements = { rows: trials.map((t) => t.row), predictions: trials.flatMap((t) => t.lines) };
    const b = decide(r, beats(['a'])).comparisons[0]!;
    expect(b.diff.n).toBe(4);
    expect(b.diff.mean).toBe(0);
    expect(b.diff.lo).toBeLessThan(0); // not a point: seed 0 favours m, seed 1 favours a
    const near = decide(r, { kind: 'near-full', run: 'main', metric: 'accuracy', policy: 'm', budget: '10%', within: 0 }).comparisons[0]!;
    expect(near.diff.n).toBe(4);
    expect(near.diff.mean).toBeCloseTo(-0.75, 10);
  });

  it('KL: a consistent 1e-6 difference is float noise (undecided); a large one decides', () => {
    expect(decide(run, beats(['a'], 'kl')).verdict).toBe('undecided');
    expect(decide(run, beats(['b'], 'kl')).verdict).toBe('contradicted');
  });

  it('ablation, near-full and graceful degradation', () => {
    expect(decide(run, { kind: 'ablation', run: 'main', metric: 'accuracy', full: 'm', ablated: 'a', budgets: ['10%'] }).verdict).toBe('confirmed');
    expect(decide(run, { kind: 'ablation', run: 'main', metric: 'accuracy', full: 'a', ablated: 'm', budgets: ['10%'] }).verdict).toBe('contradicted');
    // m loses 0.1 to the full cache: within 0.3 clearly, within 0.01 clearly not, within 0.1 undecided.
    const near = (within: number) => decide(run, { kind: 'near-full', run: 'main', metric: 'accuracy', policy: 'm', budget: '10%', within }).verdict;
    expect(near(0.3)).toBe('confirmed');
    expect(near(0.01)).toBe('contradicted');
    expect(near(0.1)).toBe('undecided');
    const g = decide(run, { kind: 'graceful', run: 'main', metric: 'accuracy', policy: 'm', over: ['a'], high: '60%', low: '10%' });
    expect(g.comparisons[0]!.diff.mean).toBeCloseTo(0.5 - 0.1, 10); // a loses 0.5, m 0.1
    expect(g.verdict).toBe('confirmed');
  });

  it('memory: the per-sample reduction against the full cache, its interval against the bar', () => {
    const mem = (reductionAtLeast: number) => decide(run, { kind: 'memory', run: 'main', policy: 'm', budgets: ['10%'], reductionAtLeast });
    expect(mem(0.8).verdict).toBe('confirmed'); // 84–86 % cut on every sample
    expect(mem(0.9).verdict).toBe('contradicted');
    expect(mem(0.85).verdict).toBe('undecided');
    expect(mem(0.8).comparisons[0]!.diff.n).toBe(N);
  });

  it('speed-up is read on the trial means and says it has no interval', () => {
    const rows = measurements([
      { label: 'full cache', budget: 'full', correct: all(true), row: { decode_ms_per_token: 4 } },
      { label: 'm', budget: '10%', correct: all(true), row: { decode_ms_per_token: 2 } },
    ]);
    const r = decide(rows, { kind: 'speedup', run: 'main', policy: 'm', budgets: ['10%'], atLeast: 2 });
    expect(r.verdict).toBe('confirmed');
    expect(r.measured).toContain('no interval');
    expect(decide(rows, { kind: 'speedup', run: 'main', policy: 'm', budgets: ['10%'], atLeast: 2.5 }).verdict).toBe('contradicted');
  });

  it('layer shift toward video: confirmed, contradicted, undecided, and untestable without media', () => {
    const shift = (modality_mass: number[][]) =>
      decide({ rows: [row('full cache', 'full', { modality_mass })], predictions: [] }, { kind: 'layer-shift', run: 'main', modality: 'video', versus: 'audio' }).verdict;
    expect(shift([[0.9, 0, 0.05, 0.05], [0.5, 0, 0.4, 0.1]])).toBe('confirmed');
    expect(shift([[0.5, 0, 0.4, 0.1], [0.9, 0, 0.05, 0.05]])).toBe('contradicted');
    expect(shift([[0.6, 0, 0.2, 0.2], [0.59, 0, 0.21, 0.2]])).toBe('undecided');
    expect(shift([[1, 0, 0, 0], [1, 0, 0, 0]])).toBe('not testable here');
  });

  it('ρ depth: bootstrapped over the prompts', () => {
    const rho = (perSample: number[][]) => {
      const mean = perSample[0]!.map((_, l) => perSample.reduce((a, r) => a + r[l]!, 0) / perSample.length);
      return evaluateClaims([claim({ kind: 'rho-depth', analysis: 'rho' })], new Map(), new Map([['rho', { rho: mean, samples: perSample.length, perSample }]]))[0]!;
    };
    const deeper = Array.from({ length: 12 }, (_, i) => [0.05, 0.06, 0.2 + i * 0.01, 0.3]);
    expect(rho(deeper).verdict).toBe('confirmed');
    expect(rho(deeper.map((r) => [...r].reverse())).verdict).toBe('contradicted');
    // Deeper on half the prompts, shallower on the other half.
    expect(rho(deeper.map((r, i) => (i % 2 ? r : [...r].reverse()))).verdict).toBe('undecided');
    expect(evaluateClaims([claim({ kind: 'rho-depth', analysis: 'rho' })], new Map(), new Map())[0]!.verdict).toBe('not testable here');
  });

  it('a missing trial or missing predictions is "not testable here", never a verdict', () => {
    const r = decide(run, beats(['zzz']));
    expect(r.verdict).toBe('not testable here');
    expect(r.measured).toContain('zzz @ 10%');
    const noPredictions = decide({ rows: run.rows, predictions: [] }, beats(['a']));
    expect(noPredictions.verdict).toBe('not testable here');
    expect(noPredictions.measured).toContain('predictions.jsonl');
  });

  it('readingOf: the whole interval must clear the bar (and the tie band)', () => {
    expect(readingOf({ lo: 0.01, hi: 0.2 }, 0)).toBe('for');
    expect(readingOf({ lo: -0.01, hi: 0.2 }, 0)).toBe('undecided');
    expect(readingOf({ lo: -0.3, hi: -0.2 }, 0)).toBe('against');
    expect(readingOf({ lo: 5e-5, hi: 8e-5 }, 0, 1e-4)).toBe('undecided');
    expect(readingOf({ lo: -0.04, hi: 0 }, -0.05)).toBe('for');
  });

  it('the differences table shows difference, 95 % interval, n and the reading per comparison', () => {
    const results = evaluateClaims([claim(beats(['a', 't']))], new Map([['main', run]]), new Map());
    const table = differencesTable(results).join('\n');
    expect(table).toContain('| difference | 95 % interval | n | needs | reading |');
    expect(table).toMatch(/\| c \| 10%: m vs a \| accuracy \| \+0\.400 \| \[\+0\.\d{3}, \+0\.\d{3}\] \| 40 \| > 0\.000 \| for \|/);
    expect(table).toMatch(/\| c \| 10%: m vs t \| accuracy \| ±0 \| \[−0\.\d{3}, \+0\.\d{3}\] \| 40 \| > 0\.000 \| undecided \|/);
    expect(differencesTable([])).toEqual([]);
  });
});
