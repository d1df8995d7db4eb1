/**
 * Shared prefill: a sweep run sample-major over one prefill per sample (forked per trial)
 * records the same rows as every trial prefilling for itself, on the AV organism, for
 * policies that read every kind of prefill statistic (H2O's accumulated scores, SnapKV's
 * window, AccKV's redistribution and flows, FlowMM, RetentiveKV's retention store, FastV's
 * layer allocator, ExpectedAttention's recent query rows), under both protocols. Below that: what CacheSession.fork refuses, and
 * how forking trials are split into prefills.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { Decoder } from '../../src/model/decoder.js';
import { loadModel } from '../../src/model/model.js';
import { prepareSample } from '../../src/model/score.js';
import type { PolicyInstance } from '../../src/cache/policy-api.js';
import { policies } from '../../src/policies/catalog.js';
import { experimentConfigSchema } from '../../src/runner/config-schema.js';
import { loadJsonlDataset } from '../../src/runner/jsonl-dataset.js';
import type { ResultRow } from '../../src/runner/result-row.js';
import { runExperiment, type RunSummary } from '../../src/runner/run-experiment.js';
import { planPrefills } from '../../src/runner/shared-prefill-runner.js';
import { expandTrials } from '../../src/runner/sweep.js';

const work = mkdtempSync(join(tmpdir(), 'kvprism-shared-prefill-'));
const config = join(work, 'sweep.yaml');
writeFileSync(
  config,
  `name: shared
model: organism
dataset: { kind: av-world, preset: tiny, split: test }
samples: 2
decodeTokens: 2
threads: 1
protocol: [query-aware, query-agnostic]
policies: [full, streaming-llm, h2o, snapkv, acckv, flowmm, retentivekv, fastv, expected-attention]
budgets: ['20%', '50%']
metrics: [accuracy, fidelity, memory, latency, attention-mass]
`,
);
const TRIALS = (1 + 8 * 2) * 2;

/** Everything but timings, memory peaks and the finishing time. */
function deterministic(r: ResultRow): Record<string, unknown> {
  const { wall_ms: _w, prefill_ms: _p, compression_ms: _c, decode_ms_per_token: _d, decode_ms_median: _m, finished_at: _f, peak_rss_bytes: _r, ...rest } = r;
  return rest;
}
const devNull = new Writable({ write: (_c, _e, done) => done() }) as unknown as NodeJS.WriteStream;
const quiet = { live: false, log: () => {}, progressStream: devNull };

let shared: RunSummary;
let own: RunSummary;
beforeAll(async () => {
  shared = await runExperiment({ configFile: config, out: join(work, 'shared'), ...quiet });
  own = await runExperiment({ configFile: config, out: join(work, 'own'), sharedPrefill: false, ...quiet });
}, 240_000);

describe('shared prefill', () => {
  it('records exactly the rows of per-trial prefills (same ids, every metric to the last digit)', () => {
    expect(shared.failed).toEqual([]);
    expect(own.failed).toEqual([]);
    expect(shared.rows).toHaveLength(TRIALS);
    const byId = (rows: ResultRow[]) => [...rows].sort((a, b) => a.trial_id.localeCompare(b.trial_id)).map(deterministic);
    expect(byId(shared.rows)).toEqual(byId(own.rows));
    // The sweep is not degenerate: budgets and policies do change the answers.
    expect(new Set(shared.rows.map((r) => r.kl)).size).toBeGreaterThan(5);
  });

  it('names each row\'s protocol and keeps both protocols apart', () => {
    const protocols = shared.rows.map((r) => r.protocol);
    expect(protocols.filter((p) => p === 'query-aware')).toHaveLength(TRIALS / 2);
    expect(protocols.filter((p) => p === 'query-agnostic')).toHaveLength(TRIALS / 2);
    expect(new Set(shared.rows.map((r) => r.trial_id)).size).toBe(TRIALS);
    const kl = (protocol: string) => shared.rows.filter((r) => r.protocol === protocol && r.policy === 'snapkv').map((r) => r.kl);
    expect(kl('query-aware')).not.toEqual(kl('query-agnostic'));
  });
});

describe('CacheSession.fork', () => {
  const model = loadModel(fileURLToPath(new URL('../../../shared/models/stories260K', import.meta.url)));
  const sample = loadJsonlDataset(fileURLToPath(new URL('../../datasets/samples/tiny-stories-qa.jsonl', import.meta.url)))[0]!;
  const env = { numLayers: model.config.numLayers, qHeads: model.config.qHeads, kvHeads: model.config.kvHeads, headDim: model.config.headDim, seed: 0 };
  const prefilled = (gather = {}) => {
    const decoder = new Decoder(model);
    const seq = decoder.open({ gather });
    decoder.runPrompt(seq, prepareSample(model, sample).head);
    return seq;
  };

  it('refuses statistics the prefill did not gather, naming them', () => {
    const seq = prefilled({ window: 8 });
    const snap = (window: number) => policies.create('snapkv', { window }, env);
    expect(() => seq.fork({ policy: snap(4), budget: { ratio: 0.5 } })).toThrow(/window 4 \(gathered window 8\)/);
    expect(() => seq.fork({ policy: policies.create('h2o', {}, env), budget: { ratio: 0.5 } })).toThrow(/cumulative/);
    expect(() => seq.fork({ policy: snap(8), budget: { ratio: 0.5 } })).not.toThrow();
  });

  it('refuses an ended prefill, a prefill run under a policy, and a retention store that cannot observe', () => {
    const ended = prefilled();
    ended.session.endPrefill();
    expect(() => ended.fork({})).toThrow(/endPrefill\(\) was already called/);
    const decoder = new Decoder(model);
    const withPolicy = decoder.open({ policy: policies.create('streaming-llm', {}, env), budget: { ratio: 0.5 } });
    expect(() => withPolicy.fork({})).toThrow(/runs policy "streaming-llm"/);
    const blind: PolicyInstance = {
      name: 'blind',
      needs: {},
      plan: () => null,
      retention: { absorb: () => {}, readout: () => {}, bytes: () => 0 },
    };
    expect(() => prefilled({ rowEntropy: true }).fork({ policy: blind, budget: { ratio: 0.5 } })).toThrow(/without observe/);
  });

  it('leaves the prefill intact: forks after a compressed fork see the whole prompt', () => {
    const seq = prefilled({ cumulative: true });
    const first = seq.fork({ policy: policies.create('h2o', {}, env), budget: { ratio: 0.2 } });
    first.session.endPrefill();
    const second = seq.fork({ policy: null });
    second.session.endPrefill();
    expect(first.session.layer(0).length(0)).toBeLessThan(seq.length);
    expect(second.session.layer(0).length(0)).toBe(seq.length);
    // A fork whose policy reads no accumulated scores does not carry their bytes.
    expect(second.session.bytes().metaBytes).toBeLessThan(seq.session.bytes().metaBytes);
  });
});

describe('planPrefills', () => {
  const trials = expandTrials(
    experimentConfigSchema.parse({ model: 'm', dataset: { kind: 'jsonl', path: 'd' }, policies: ['h2o', { name: 'snapkv', options: { window: [8, 32] } }], budgets: ['20%'] }),
    policies,
  );
  it('gives each statistics window its own prefill and the union of needs to each', () => {
    const needs = [{ cumulative: true }, { window: 8 }, { window: 32 }];
    const plans = planPrefills(trials.map((trial, i) => ({ trial, needs: needs[i]! })));
    expect(plans.map((p) => p.gather)).toEqual([{ window: 8, cumulative: true }, { window: 32 }]);
    expect(plans.map((p) => p.trials.map((t) => t.label))).toEqual([['snapkv(window=8)', 'h2o'], ['snapkv(window=32)']]);
  });
});
