import { describe, expect, it } from 'vitest';
import { policies } from '../../src/policies/catalog.js';
import { experimentConfigSchema, type ExperimentConfigInput } from '../../src/runner/config-schema.js';
import { parseShard, selectShard } from '../../src/runner/shard.js';
import { expandOptions, expandTrials } from '../../src/runner/sweep.js';

const config = (over: Partial<ExperimentConfigInput> = {}) =>
  experimentConfigSchema.parse({
    model: 'm',
    dataset: { kind: 'jsonl', path: 'd.jsonl' },
    policies: ['full', 'h2o', { name: 'snapkv', options: { window: [4, 8] } }],
    budgets: ['10%', 0.2, '64t'],
    seeds: [0, 1],
    ...over,
  });

describe('sweep expansion', () => {
  it('crosses option lists, budgets and seeds; the full cache once per seed', () => {
    const trials = expandTrials(config(), policies);
    // full: 2 seeds; h2o: 3 budgets × 2 seeds; snapkv: 2 windows × 3 × 2
    expect(trials).toHaveLength(2 + 6 + 12);
    expect(trials.filter((t) => t.policy === 'full').every((t) => t.budget === null && t.budgetLabel === 'full')).toBe(true);
    expect(new Set(trials.map((t) => t.id)).size).toBe(trials.length);
    expect(trials.map((t) => t.index)).toEqual(trials.map((_, i) => i));
    const snap = trials.filter((t) => t.policy === 'snapkv');
    expect(new Set(snap.map((t) => t.label))).toEqual(new Set(['snapkv(window=4)', 'snapkv(window=8)']));
    expect(snap.every((t) => 'kernel' in t.options)).toBe(true); // defaults filled in
    expect(trials.map((t) => t.budgetLabel)).toContain('64t');
  });

  it('a literal list option is passed by wrapping it in a list', () => {
    expect(expandOptions({ a: [[1, 2]], b: 3 })).toEqual([{ options: { a: [1, 2], b: 3 }, swept: ['a'] }]);
    expect(expandOptions({ a: [1, 2], b: ['x', 'y'] }).map((c) => c.options)).toEqual([
      { a: 1, b: 'x' },
      { a: 1, b: 'y' },
      { a: 2, b: 'x' },
      { a: 2, b: 'y' },
    ]);
  });

  it('trial ids are stable hashes of the resolved trial, not of its position or spelling', () => {
    const a = expandTrials(config(), policies);
    const b = expandTrials(config({ policies: [{ name: 'snapkv', options: { window: [8, 4] } }, 'h2o', 'full'], budgets: ['64t', '20%', 0.1] }), policies);
    expect(new Set(b.map((t) => t.id))).toEqual(new Set(a.map((t) => t.id)));
    // Spelling a default explicitly does not change the trial.
    const explicit = expandTrials(config({ policies: [{ name: 'h2o', options: {} }] }), policies);
    const defaults = policies.get('h2o').options.parse({}) as Record<string, unknown>;
    const spelled = expandTrials(config({ policies: [{ name: 'h2o', options: defaults }] }), policies);
    expect(spelled.map((t) => t.id)).toEqual(explicit.map((t) => t.id));
    // Anything that changes the result changes the id.
    const moreSamples = expandTrials(config({ samples: 3 }), policies);
    expect(moreSamples.some((t) => a.some((x) => x.id === t.id))).toBe(false);
  });

  it('shards partition the trials exactly and deterministically', () => {
    const trials = expandTrials(config(), policies);
    for (const n of [1, 3, 7, 40]) {
      const parts = Array.from({ length: n }, (_, i) => selectShard(trials, { index: i, count: n }));
      const ids = parts.flat().map((t) => t.id);
      expect(ids.sort()).toEqual(trials.map((t) => t.id).sort());
      expect(Math.max(...parts.map((p) => p.length)) - Math.min(...parts.map((p) => p.length))).toBeLessThanOrEqual(1);
    }
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    for (const bad of ['4/4', '1', 'a/b', '-1/3', '0/0']) expect(() => parseShard(bad)).toThrow(/expected I\/N with 0 ≤ I < N/);
  });
});
