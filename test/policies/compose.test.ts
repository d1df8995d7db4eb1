/**
 * Composition without code: the "compose" policy (scorer × allocator × reducer) on hand-built
 * views, and `policy: { compose: ... }` in a config, validated like a named policy.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { policies } from '../../src/policies/catalog.js';
import { COMPOSED_POLICY } from '../../src/policies/compose/composed.js';
import { SCORER_NAMES } from '../../src/policies/compose/scorers.js';
import { policyTraits } from '../../src/policies/traits.js';
import type { PolicyEnv } from '../../src/policies/registry.js';
import { loadConfig } from '../../src/runner/config-load.js';
import { expandTrials } from '../../src/runner/sweep.js';
import { ConfigError } from '../../src/util/config-error.js';
import { makeCtx, makeStats, makeView, randomHeads } from './fixtures.js';

const env: PolicyEnv = {
  numLayers: 4, kvHeads: 2, qHeads: 2, headDim: 4, seed: 1,
  rope: { rotaryDim: 4, axes: 1, inverseFrequencies: () => Float64Array.from([1, 0.01]) },
};
const view = makeView(randomHeads(2, 16, 4, 11));
const stats = makeStats({ window: [Array.from({ length: 16 }, (_, i) => Math.sin(i) + 1), Array.from({ length: 16 }, (_, i) => Math.cos(i) + 1)] }, 16);
stats.recentQueries = { q: Float32Array.from({ length: 4 * 2 * 4 }, (_, i) => Math.sin(3 * i)), positions: Int32Array.from([12, 13, 14, 15]) };
const keepOf = (name: string, options: unknown, budget = 6) => policies.create(name, options, env).plan(makeCtx(view, stats, budget))!.heads.map((h) => Array.from(h.keep));

describe('compose policy', () => {
  it('scorer × uniform × evict reproduces the named policy it is made of', () => {
    expect(keepOf('compose', { scorer: 'keydiff' })).toEqual(keepOf('keydiff', {}));
    expect(keepOf('compose', { scorer: 'lagkv', scorerOptions: { sinks: 1, lag: 4 } })).toEqual(keepOf('lagkv', { sinks: 1, lag: 4 }));
    expect(keepOf('compose', { scorer: 'snapkv', scorerOptions: { window: 2, kernel: 1 } })).toEqual(keepOf('snapkv', { window: 2, kernel: 1 }));
    const ea = { window: 4, futurePositions: 8, sinks: 1 };
    expect(keepOf('compose', { scorer: 'expected-attention', scorerOptions: ea })).toEqual(keepOf('expected-attention', ea));
    expect(keepOf('compose', { scorer: 'criticalkv', scorerOptions: { window: 2, kernel: 1, projection: 'value' } })).toEqual(
      keepOf('criticalkv', { window: 2, kernel: 1, projection: 'value' }),
    );
  });
  it('allocator adakv moves budget between heads and keeps the layer total', () => {
    // Head 0's keys all point one way except three: KeyDiff scores concentrate there.
    const heads = randomHeads(2, 16, 4, 3);
    heads[0]!.keys = heads[0]!.keys.map((k, i) => (i % 5 === 0 ? k : [1, 0.01 * i, 0, 0]));
    const ctx = makeCtx(makeView(heads), makeStats({}), 6);
    const plan = policies.create('compose', { scorer: 'keydiff', allocator: 'adakv', floorRatio: 0 }, env).plan(ctx)!;
    const lens = plan.heads.map((h) => h.keep.length);
    expect(lens[0]! + lens[1]!).toBe(12);
    expect(lens[0]).not.toBe(lens[1]);
  });
  it('allocator pyramid gives deeper layers smaller budgets with the same total', () => {
    const p = policies.create('compose', { scorer: 'keydiff', allocator: 'pyramid', beta: 4 }, env);
    const b = p.allocateLayers!({ base: 10, numLayers: 4, promptLength: 40, stats: [] });
    expect(b.reduce((x, y) => x + y, 0)).toBe(40);
    for (let l = 1; l < 4; l++) expect(b[l]).toBeLessThan(b[l - 1]!);
  });
  it('reducer merge folds every evicted slot into one kept slot', () => {
    const plan = policies.create('compose', { scorer: 'keydiff', reducer: 'merge' }, env).plan(makeCtx(view, stats, 6))!;
    for (const hp of plan.heads) {
      const from = (hp.merges ?? []).flatMap((m) => Array.from(m.from));
      const kept = new Set(hp.keep);
      expect(from.sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, i) => i).filter((i) => !kept.has(i)));
      for (const m of hp.merges!) expect(kept.has(m.into)).toBe(true);
    }
  });
  it('names bad parts and scorer options like any policy option', () => {
    expect(() => policies.create('compose', { scorer: 'keydif' }, env)).toThrow(/policies\.compose\.scorer: .*"keydiff"/);
    expect(() => policies.create('compose', { allocator: 'meda' }, env)).toThrow(/policies\.compose\.allocator:/);
    expect(() => policies.create('compose', { scorr: 'keydiff' }, env)).toThrow(/policies\.compose\.\(options\): Unrecognized key: "scorr"/);
    expect(() => policies.create('compose', { scorer: 'lagkv', scorerOptions: { lag: 1 } }, env)).toThrow(/policies\.compose\.scorerOptions\.lag: .*scorer "lagkv"/);
  });
  it('the catalogue traits follow the scorer: attention-free scorers make query-agnostic policies', () => {
    const t = Object.fromEntries(policies.list().map((d) => [d.name, policyTraits(d)]));
    for (const n of ['keydiff', 'lagkv', 'knorm', 'streaming-llm', 'random']) expect(t[n], n).toMatchObject({ attentionFree: true, queryAgnostic: true });
    for (const n of ['snapkv', 'h2o', 'chunkkv', 'criticalkv', 'expected-attention', 'compose']) expect(t[n], n).toMatchObject({ attentionFree: false, queryAgnostic: false });
    for (const n of policies.names()) expect(t[n], n).toMatchObject({ secondPass: false, calibration: false });
    expect(SCORER_NAMES).toContain('keydiff');
  });
});

describe('policy: { compose: ... } in a config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kvprism-compose-'));
  let n = 0;
  const load = (policiesYaml: string) => {
    const f = join(dir, `c${n++}.yaml`);
    writeFileSync(f, `model: ../m\ndataset: { kind: jsonl, path: qa.jsonl }\nbudgets: ['10%', '20%']\npolicies: ${policiesYaml}\n`);
    return expandTrials(loadConfig(f).config, policies, f);
  };
  const errorOf = (fn: () => unknown): ConfigError => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return e as ConfigError;
    }
    throw new Error('expected a ConfigError');
  };
  it('becomes the compose policy with validated options, a readable label, and sweeps lists', () => {
    const trials = load('[{ compose: { scorer: keydiff, allocator: adakv, reducer: merge } }, { compose: { scorer: [keydiff, lagkv] }, schedule: over-budget }]');
    expect(trials).toHaveLength(6);
    expect(trials[0]).toMatchObject({ policy: COMPOSED_POLICY, label: 'compose(keydiff+adakv+merge)', options: { scorer: 'keydiff', allocator: 'adakv', reducer: 'merge', floorRatio: 0.2 } });
    expect(trials.slice(2).map((t) => t.label)).toEqual(['compose(*+uniform+evict)(scorer="keydiff")', 'compose(*+uniform+evict)(scorer="keydiff")', 'compose(*+uniform+evict)(scorer="lagkv")', 'compose(*+uniform+evict)(scorer="lagkv")']);
    expect(trials[2]!.schedule).toEqual({ kind: 'over-budget' });
  });
  it('reports bad parts with the entry path and the policy field, as for a named policy', () => {
    const e = errorOf(() => load('[{ compose: { scorer: keydif, reducer: fold } }]'));
    expect(e.message).toMatch(/policies\[0\]\.options: invalid options for policy "compose": policies\.compose\.scorer: .*; policies\.compose\.reducer: /);
    const e2 = errorOf(() => load('[{ compose: { scorer: snapkv, scorerOptions: { windw: 8 } } }]'));
    expect(e2.message).toMatch(/policies\.compose\.scorerOptions.*windw/);
  });
  it('a misspelt key beside compose is named', () => {
    const e = errorOf(() => load('[{ compose: { scorer: keydiff }, lable: x }]'));
    expect(e.message).toContain('policies[0].lable: unknown key; did you mean "label"? (allowed here: name, label, options, schedule, compose)');
  });
});
