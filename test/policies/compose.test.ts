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
import { keyDiffScores } from '../../src/policies/eviction/keydiff.js';
import { ModalityCode } from '../../src/cache/modality.js';
import { allocTokenMeta } from '../../src/cache/token-meta.js';
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
  it('allocator d2o: layer budgets in proportion to attention density (normalised column entropy), blended by layerMix', () => {
    // Layer 0 spreads its mass evenly (entropy 1), layer 1 puts it all on one slot (entropy 0).
    const spread = makeStats({ cumulative: [[1, 1, 1, 1]] });
    const focused = makeStats({ cumulative: [[4, 0, 0, 0]] });
    const a = { base: 10, numLayers: 2, promptLength: 4, stats: [spread, focused] };
    const budgets = (mix: number) => policies.create('compose', { scorer: 'keydiff', allocator: 'd2o', layerMix: mix }, env).allocateLayers!(a);
    expect(budgets(1)).toEqual([20, 0]); // 10·2·(1/1) and 10·2·0
    expect(budgets(0.5)).toEqual([15, 5]); // 10·(0.5 + 0.5·2·1) and 10·0.5
    expect(budgets(0)).toEqual([10, 10]);
    expect(policies.create('compose', { scorer: 'keydiff', allocator: 'd2o' }, env).needs).toMatchObject({ cumulative: true });
    // The same allocator the named D2O uses.
    expect(policies.create('compose', { scorer: 'keydiff', allocator: 'd2o', layerMix: 0.3 }, env).allocateLayers!(a)).toEqual(policies.create('d2o', { layerMix: 0.3 }, env).allocateLayers!(a));
  });
  it('allocator meda: layer budgets from cross-modal entropy, MEDA’s own allocator', () => {
    const { text, video } = ModalityCode;
    const meta = allocTokenMeta(4);
    meta.modality.set([video, video, text, text]);
    // Layer 0: text queries split their mass evenly over both video slots and the visual queries
    // over both text slots (entropy 1); layer 1: each on one slot only (entropy 0).
    const even = makeStats({ cumulative: [[2, 2, 2, 2]], textColumn: [[1, 1, 1, 1]] });
    const peaked = makeStats({ cumulative: [[4, 0, 4, 0]], textColumn: [[2, 0, 2, 0]] });
    const a = { base: 10, numLayers: 2, promptLength: 4, stats: [even, peaked], meta };
    const compose = policies.create('compose', { scorer: 'keydiff', allocator: 'meda', temperature: 0.5 }, env);
    // softmax([1, 0] / 0.5) = [e², 1] / (e² + 1) of the 20 slots.
    const share = Math.exp(2) / (Math.exp(2) + 1);
    expect(compose.allocateLayers!(a)).toEqual([Math.round(20 * share), 20 - Math.round(20 * share)]);
    expect(compose.allocateLayers!(a)).toEqual(policies.create('meda', { temperature: 0.5 }, env).allocateLayers!(a));
    expect(compose.needs).toMatchObject({ cumulative: true, textColumn: true, flows: true });
  });
  it('allocator madakv: each head’s budget split between modalities by the attention its text queries give them', () => {
    const { text, video, audio } = ModalityCode;
    const modality = [text, text, video, video, video, video, video, audio, audio, audio, audio, text];
    const keys = modality.map((_, i) => [Math.cos(i), Math.sin(i), 0, 0]);
    const v = makeView([{ keys, modality }, { keys, modality }]);
    const flows = (toVideo: number, toAudio: number) => {
      const f = new Float64Array(16);
      [f[text * 4 + video], f[text * 4 + audio]] = [toVideo, toAudio];
      return f;
    };
    const window = modality.map((_, i) => 1 + ((i * 7) % 5) / 10);
    const st = makeStats({ window: [window, window] }, 12);
    st.flows = [flows(3, 1), flows(1, 3)];
    const ctx = makeCtx(v, st, 5);
    const keep = policies.create('compose', { scorer: 'keydiff', allocator: 'madakv' }, env).plan(ctx)!.heads.map((h) => Array.from(h.keep));
    const count = (slots: number[], m: number) => slots.filter((j) => modality[j] === m).length;
    // KeyDiff protects nothing: the 5 slots split 3.75 : 1.25 → 4 video + 1 audio, and 1 video + 4 audio.
    expect([count(keep[0]!, video), count(keep[0]!, audio), count(keep[0]!, text)]).toEqual([4, 1, 0]);
    expect([count(keep[1]!, video), count(keep[1]!, audio), count(keep[1]!, text)]).toEqual([1, 4, 0]);
    // Within a modality the scorer ranks: head 1's video pick is KeyDiff's best video slot.
    const kd = keyDiffScores(v, 1);
    const bestVideo = [2, 3, 4, 5, 6].sort((a, b) => kd[b]! - kd[a]! || a - b)[0]!;
    expect(keep[1]!.filter((j) => modality[j] === video)).toEqual([bestVideo]);
    // With the SnapKV scorer (window protected) it is the named MadaKV.
    const o = { window: 1, kernel: 1 };
    const named = policies.create('madakv', o, env).plan(ctx)!.heads.map((h) => Array.from(h.keep));
    expect(policies.create('compose', { scorer: 'snapkv', scorerOptions: o, allocator: 'madakv' }, env).plan(ctx)!.heads.map((h) => Array.from(h.keep))).toEqual(named);
    expect(() => policies.create('compose', { scorer: 'keydiff', allocator: 'madakv' }, env).plan(makeCtx(v, makeStats({}), 5))).toThrow(/compose:madakv: attention statistic "flows" is missing/);
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
    expect(() => policies.create('compose', { allocator: 'mada' }, env)).toThrow(/policies\.compose\.allocator: .*"madakv"/);
    expect(() => policies.create('compose', { allocator: 'd2o', layerMix: 2 }, env)).toThrow(/policies\.compose\.layerMix: /);
    expect(() => policies.create('compose', { allocator: 'meda', temperature: 0 }, env)).toThrow(/policies\.compose\.temperature: /);
    expect(() => policies.create('compose', { scorr: 'keydiff' }, env)).toThrow(/policies\.compose\.\(options\): Unrecognized key: "scorr"/);
    expect(() => policies.create('compose', { scorer: 'lagkv', scorerOptions: { lag: 1 } }, env)).toThrow(/policies\.compose\.scorerOptions\.lag: .*scorer "lagkv"/);
  });
  it('the catalogue traits follow the scorer: attention-free scorers make query-agnostic policies', () => {
    const t = Object.fromEntries(policies.list().map((d) => [d.name, policyTraits(d)]));
    for (const n of ['keydiff', 'lagkv', 'knorm', 'streaming-llm', 'random']) expect(t[n], n).toMatchObject({ attentionFree: true, queryAgnostic: true });
    for (const n of ['snapkv', 'h2o', 'chunkkv', 'criticalkv', 'expected-attention', 'compose']) expect(t[n], n).toMatchObject({ attentionFree: false, queryAgnostic: false });
    for (const n of policies.names()) expect(t[n], n).toMatchObject({ secondPass: n === 'kvzip', calibration: false });
    expect(t.kvzip).toMatchObject({ queryAgnostic: true, attentionFree: true });
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
