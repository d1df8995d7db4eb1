/**
 * How a paper claim is decided on result rows: strict wins (ties do not confirm), KL float
 * noise as a tie, ablations, losses against the full cache, speed and memory ratios, layer
 * trends, and "not testable" when a measurement is missing.
 */
import { describe, expect, it } from 'vitest';
import { evaluateClaims } from '../../experiments/lib/claims.js';
import type { Claim } from '../../experiments/lib/manifest.js';
import type { ResultRow } from '../../src/runner/result-row.js';

function row(label: string, budget: string, m: Partial<ResultRow>): ResultRow {
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

const claim = (check: Claim['check']): Claim => ({ id: 'c', claim: 'c', paper: 'p', check });
const decide = (rows: ResultRow[], check: Claim['check']) => evaluateClaims([claim(check)], new Map([['main', rows]]), new Map())[0]!;

const rows = [
  row('full cache', 'full', { accuracy: 0.8, kl: 0, total_bytes: 1000, decode_ms_per_token: 4, modality_mass: [[0.9, 0, 0.05, 0.05], [0.5, 0, 0.4, 0.1]] }),
  row('m', '10%', { accuracy: 0.7, kl: 0.05, total_bytes: 150, decode_ms_per_token: 2 }),
  row('a', '10%', { accuracy: 0.6, kl: 0.05 + 1e-6 }),
  row('b', '10%', { accuracy: 0.7, kl: 0.2 }),
  row('m', '60%', { accuracy: 0.8 }),
  row('a', '60%', { accuracy: 0.8 }),
];

describe('claim checks', () => {
  it('beats: strict on accuracy, KL differences under 1e-4 are ties', () => {
    const acc = decide(rows, { kind: 'beats', run: 'main', metric: 'accuracy', policy: 'm', over: ['a', 'b'], budgets: ['10%'] });
    expect(acc.verdict).toBe('not confirmed'); // ties with b
    expect(acc.measured).toContain('beats 1/2');
    expect(decide(rows, { kind: 'beats', run: 'main', metric: 'accuracy', policy: 'm', over: ['a'], budgets: ['10%'] }).verdict).toBe('confirmed');
    expect(decide(rows, { kind: 'beats', run: 'main', metric: 'kl', policy: 'm', over: ['a'], budgets: ['10%'] }).verdict).toBe('not confirmed');
    expect(decide(rows, { kind: 'beats', run: 'main', metric: 'kl', policy: 'm', over: ['b'], budgets: ['10%'] }).verdict).toBe('confirmed');
  });

  it('ablation, near-full and graceful degradation', () => {
    expect(decide(rows, { kind: 'ablation', run: 'main', metric: 'accuracy', full: 'm', ablated: 'a', budgets: ['10%'] }).verdict).toBe('confirmed');
    expect(decide(rows, { kind: 'near-full', run: 'main', metric: 'accuracy', policy: 'm', budget: '10%', within: 0.05 }).verdict).toBe('not confirmed');
    expect(decide(rows, { kind: 'near-full', run: 'main', metric: 'accuracy', policy: 'm', budget: '10%', within: 0.1 }).verdict).toBe('confirmed');
    const g = decide(rows, { kind: 'graceful', run: 'main', metric: 'accuracy', policy: 'm', over: ['a'], high: '60%', low: '10%' });
    expect(g.verdict).toBe('confirmed'); // m loses 0.1, a loses 0.2
  });

  it('speed-up and memory against the full cache', () => {
    expect(decide(rows, { kind: 'speedup', run: 'main', policy: 'm', budgets: ['10%'], atLeast: 2 }).verdict).toBe('confirmed');
    expect(decide(rows, { kind: 'speedup', run: 'main', policy: 'm', budgets: ['10%'], atLeast: 2.5 }).verdict).toBe('not confirmed');
    expect(decide(rows, { kind: 'memory', run: 'main', policy: 'm', budgets: ['10%'], reductionAtLeast: 0.85 }).verdict).toBe('confirmed');
    expect(decide(rows, { kind: 'memory', run: 'main', policy: 'm', budgets: ['10%'], reductionAtLeast: 0.9 }).verdict).toBe('not confirmed');
  });

  it('layer shift toward video, and untestable without media', () => {
    expect(decide(rows, { kind: 'layer-shift', run: 'main', modality: 'video', versus: 'audio' }).verdict).toBe('confirmed');
    const textOnly = [row('full cache', 'full', { modality_mass: [[1, 0, 0, 0], [1, 0, 0, 0]] })];
    expect(decide(textOnly, { kind: 'layer-shift', run: 'main', modality: 'video', versus: 'audio' }).verdict).toBe('not testable here');
  });

  it('a missing measurement is "not testable here", never a verdict', () => {
    const r = decide(rows, { kind: 'beats', run: 'main', metric: 'accuracy', policy: 'm', over: ['zzz'], budgets: ['10%'] });
    expect(r.verdict).toBe('not testable here');
    expect(r.measured).toContain('zzz @ 10%');
    expect(evaluateClaims([claim({ kind: 'rho-depth', analysis: 'rho' })], new Map(), new Map())[0]!.verdict).toBe('not testable here');
    expect(evaluateClaims([claim({ kind: 'rho-depth', analysis: 'rho' })], new Map(), new Map([['rho', { rho: [0.05, 0.06, 0.2, 0.3], samples: 4 }]]))[0]!.verdict).toBe('confirmed');
  });
});
