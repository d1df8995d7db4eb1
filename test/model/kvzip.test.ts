/**
 * KVzip: its score (max attention received while the model repeats its context) by hand on a
 * hand-built repeat, what it keeps, its global layer budgets, and the second pass for real:
 * on stories260K (text, chunked) and through the runner on the AV organism (media context
 * repeated as embeddings), where a shared prefill's fork gives the rows of an own prefill.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { PolicyInstance, RepeatObservation } from '../../src/cache/policy-api.js';
import { Decoder } from '../../src/model/decoder.js';
import { embedPrompt } from '../../src/model/embed-prompt.js';
import { loadModel } from '../../src/model/model.js';
import { createPolicy } from '../../src/model/policy-for-model.js';
import { repeatChunks } from '../../src/model/second-pass.js';
import { policies } from '../../src/policies/catalog.js';
import { globalLayerBudgets, KVZIP_INSTRUCTION, reconstructionScores } from '../../src/policies/eviction/kvzip.js';
import type { PolicyEnv } from '../../src/policies/registry.js';
import type { ResultRow } from '../../src/runner/result-row.js';
import { runExperiment } from '../../src/runner/run-experiment.js';
import { makeCtx, makeStats, makeView } from '../policies/fixtures.js';
import { LONG_STORY, STORIES_DIR } from './fixtures.js';

const env: PolicyEnv = { numLayers: 1, kvHeads: 1, qHeads: 2, headDim: 2, seed: 0 };

/** One layer, one KV head (2 query heads): context keys, then the repeat's keys; queries [n][2][2]. */
function observation(context: number[][], repeat: number[][], queries: number[][][], start = 0, end = context.length): RepeatObservation {
  const view = makeView([{ keys: [...context, ...repeat] }], { groupSize: 2 });
  return { layer: 0, view, queries: Float32Array.from(queries.flat(2)), n: repeat.length, qHeads: 2, contextLength: context.length, start, end, scale: 1 };
}

describe('KVzip scores', () => {
  it('a slot scores the largest softmax probability any repeat query of its group gives it (causal over the repeat)', () => {
    const context = [[1, 0], [0, 1], [1, 1]];
    const repeat = [[0, 0], [2, 0]];
    const queries = [[[1, 0], [0, 2]], [[0, 1], [1, 1]]];
    const got = reconstructionScores(observation(context, repeat, queries), 0, 0);
    // By hand: row i of query head g attends to the 3 context keys and repeat keys 0..i.
    const want = [0, 0, 0];
    queries.forEach((heads, i) =>
      heads.forEach((q) => {
        const keys = [...context, ...repeat.slice(0, i + 1)];
        const e = keys.map((k) => Math.exp(q[0]! * k[0]! + q[1]! * k[1]!));
        const z = e.reduce((a, b) => a + b, 0);
        for (let j = 0; j < 3; j++) want[j] = Math.max(want[j]!, e[j]! / z);
      }),
    );
    got.forEach((x, j) => expect(x).toBeCloseTo(want[j]!, 6));
  });

  it('a later chunk’s softmax covers the sinks, its own slots and the repeat, not the rest of the context', () => {
    const context = [[1, 0], [0, 1], [5, 5], [1, 1]];
    const o = observation(context, [[0, 0]], [[[1, 0], [1, 0]]], 3, 4);
    const [s] = reconstructionScores(o, 0, 1);
    // Softmax over slot 0 (sink), slot 3 (the chunk) and the repeat slot: slot 2's large key is not in it.
    const e = [Math.exp(1), Math.exp(1), Math.exp(0)];
    expect(s).toBeCloseTo(e[1]! / (e[0]! + e[1]! + e[2]!), 6);
  });

  it('keeps what the repeat reads and the sinks, head-wise; later tokens are kept before the context', () => {
    // Repeat queries point at slots 5 and 7 (of 8); slot 0 is a sink.
    const context = Array.from({ length: 8 }, (_, j) => [Math.cos(j), Math.sin(j)]);
    const q = (j: number) => [8 * Math.cos(j), 8 * Math.sin(j)];
    const p = policies.create('kvzip', { sinks: 1 }, env);
    p.secondPass!.observe(observation(context, [[0, 0], [0, 0]], [[q(5), q(5)], [q(7), q(7)]]));
    const ctx = makeCtx(makeView([{ keys: context }]), makeStats({}), 3);
    expect(Array.from(p.plan(ctx)!.heads[0]!.keep)).toEqual([0, 5, 7]);
    expect(p.plan(makeCtx(makeView([{ keys: context }]), makeStats({}), 0))!.heads[0]!.keep).toHaveLength(0);
    expect(Array.from(p.plan(makeCtx(makeView([{ keys: context }]), makeStats({}), 1))!.heads[0]!.keep)).toEqual([0]);
    expect(p.plan(makeCtx(makeView([{ keys: context }]), makeStats({}), 8))).toBeNull();
    expect(() => p.plan(makeCtx(makeView([{ keys: context }]), makeStats({}), -1))).toThrow(/budget for layer 0 must be a whole number/);
    // A decode token (position 8, no score) is kept before any context slot but the sink.
    const grown = makeView([{ keys: [...context, [0, 0]] }]);
    expect(Array.from(p.plan(makeCtx(grown, makeStats({}), 2, { phase: 'decode' }))!.heads[0]!.keep)).toEqual([0, 8]);
    // Its clone carries the scores.
    expect(Array.from(p.clone!().plan(ctx)!.heads[0]!.keep)).toEqual([0, 5, 7]);
  });

  it('without its second pass it says so', () => {
    const p = policies.create('kvzip', {}, env);
    expect(() => p.plan(makeCtx(makeView([{ keys: [[1, 0], [0, 1], [1, 1]] }]), makeStats({}), 1))).toThrow(/kvzip: layer 0 has no reconstruction scores: its second pass did not run/);
  });

  it('one ranking across layers and heads sets the layer budgets (kvpress’s default)', () => {
    // Layer 0's scores are all above layer 1's: with 2 heads × base 2 × 2 layers = 8 kept, layer 0 takes 6 (its all).
    const l0 = [Float32Array.from([0.9, 0.8, 0.7]), Float32Array.from([0.95, 0.85, 0.75])];
    const l1 = [Float32Array.from([0.1, 0.2, 0.3]), Float32Array.from([0.05, 0.15, 0.6])];
    expect(globalLayerBudgets([l0, l1], 2)).toEqual([3, 1]);
    const p = policies.create('kvzip', { layerwise: true }, env);
    expect(p.allocateLayers!({ base: 2, numLayers: 2, promptLength: 3, stats: [] })).toEqual([2, 2]);
  });

  it('options are validated like any policy’s', () => {
    expect(() => policies.create('kvzip', { chunk: 0 }, env)).toThrow(/policies\.kvzip\.chunk:/);
    expect(() => policies.create('kvzip', { sink: 4 }, env)).toThrow(/Unrecognized key: "sink"/);
    expect(repeatChunks(5, 2)).toEqual([[0, 2], [2, 4], [4, 5]]);
  });
});

describe('the second pass on stories260K', () => {
  const model = loadModel(STORIES_DIR);
  const prompt = embedPrompt(model, { segments: [{ kind: 'text', text: LONG_STORY.slice(0, 300) }] });
  /** kvzip with its observations counted (the real pass, watched). */
  const watched = (options: Record<string, unknown>) => {
    const p = createPolicy(model, 'kvzip', options);
    const seen: { layer: number; start: number; end: number; n: number }[] = [];
    const pass = p.secondPass!;
    const policy: PolicyInstance = { ...p, secondPass: { ...pass, observe: (o) => (seen.push({ layer: o.layer, start: o.start, end: o.end, n: o.n }), pass.observe(o)) } };
    return { policy, seen };
  };

  it('repeats the context over a clone, scores it, and compresses the prompt’s own cache only', () => {
    const { policy, seen } = watched({});
    const decoder = new Decoder(model);
    const budget = Math.floor(prompt.n / 4);
    const seq = decoder.open({ policy, budget: { tokens: budget } });
    decoder.prefill(seq, prompt);
    const ask = model.tokenizer.encode(KVZIP_INSTRUCTION).length;
    expect(seen).toEqual(Array.from({ length: model.config.numLayers }, (_, layer) => ({ layer, start: 0, end: prompt.n, n: ask + prompt.n })));
    expect(seq.length).toBe(prompt.n);
    expect(seq.session.promptLength).toBe(prompt.n);
    let total = 0;
    for (let l = 0; l < model.config.numLayers; l++) {
      const layer = seq.session.layer(l);
      total += layer.totalSlots();
      for (let h = 0; h < model.config.kvHeads; h++) for (const p of layer.headMeta(h).position) expect(p).toBeLessThan(prompt.n); // no repeat slot
      for (let h = 0; h < model.config.kvHeads; h++) expect(layer.headMeta(h).position.slice(0, 4)).toEqual(Int32Array.from([0, 1, 2, 3])); // sinks
    }
    expect(total).toBe(budget * model.config.numLayers * model.config.kvHeads);
    // Decoding goes on over the compressed cache.
    expect(decoder.decodeOne(seq, 1).every(Number.isFinite)).toBe(true);
  });

  it('a long context is repeated in chunks, each after the continuation and the previous chunk’s tail', () => {
    const { policy, seen } = watched({ chunk: 40, overlap: 8 });
    const decoder = new Decoder(model);
    decoder.prefill(decoder.open({ policy, budget: { tokens: 20 } }), prompt);
    const chunks = repeatChunks(prompt.n, 40);
    const cont = model.tokenizer.encode('\n\nRepeat the part of the previous context exactly, starting with').length;
    const first = seen.filter((o) => o.layer === 0);
    expect(first.map((o) => [o.start, o.end])).toEqual(chunks);
    expect(first[1]!.n).toBe(cont + 8 + (chunks[1]![1] - chunks[1]![0]));
  });

  it('wrapped by key-rerotation the pass still runs, and the kept keys are re-rotated', () => {
    const decoder = new Decoder(model);
    const budget = Math.floor(prompt.n / 4);
    const seq = decoder.open({ policy: createPolicy(model, 'key-rerotation', { policy: 'kvzip', options: { layerwise: true } }), budget: { tokens: budget } });
    decoder.prefill(seq, prompt);
    // KVzip's heads keep different counts: later tokens continue at the longest head's length.
    let longest = 0;
    for (let l = 0; l < model.config.numLayers; l++) longest = Math.max(longest, seq.session.layer(l).maxLength());
    expect(longest).toBeGreaterThan(budget);
    expect(seq.ropeNext).toBe(longest);
    expect(seq.session.ropeShift).toBe(prompt.n - longest);
  });

  it('refuses a streamed prefill that holds its budget (it would compress before the pass)', () => {
    const decoder = new Decoder(model);
    const seq = decoder.open({ policy: createPolicy(model, 'kvzip', {}), budget: { tokens: 10 } });
    expect(() => decoder.prefill(seq, prompt, { ends: [40, prompt.n], hold: true })).toThrow(/kvzip: layer 0 has no reconstruction scores: its second pass did not run .*a streamed prefill holding its budget compresses before it/);
  });
});

describe('the runner runs the pass (and key rerotation) on its own prefill and on a shared prefill’s fork alike (AV organism)', () => {
  it('records the same rows both ways', async () => {
    const work = mkdtempSync(join(tmpdir(), 'kvprism-kvzip-'));
    const config = join(work, 'kvzip.yaml');
    writeFileSync(config, `name: kvzip\nmodel: organism\ndataset: { kind: av-world, preset: tiny, split: test }\nsamples: 2\ndecodeTokens: 1\nthreads: 1\nprotocol: query-agnostic\npolicies: [kvzip, snapkv, { name: key-rerotation, options: { policy: snapkv } }]\nbudgets: ['20%']\nmetrics: [accuracy, fidelity, memory]\n`);
    const devNull = new Writable({ write: (_c, _e, done) => done() }) as unknown as NodeJS.WriteStream;
    const quiet = { live: false, log: () => {}, progressStream: devNull };
    const shared = await runExperiment({ configFile: config, out: join(work, 'shared'), ...quiet });
    const own = await runExperiment({ configFile: config, out: join(work, 'own'), sharedPrefill: false, ...quiet });
    const strip = (rows: ResultRow[]) =>
      [...rows].sort((a, b) => a.trial_id.localeCompare(b.trial_id)).map(({ wall_ms: _w, prefill_ms: _p, compression_ms: _c, decode_ms_per_token: _d, decode_ms_median: _m, finished_at: _f, peak_rss_bytes: _r, ...rest }) => rest);
    expect(shared.failed).toEqual([]);
    expect(own.failed).toEqual([]);
    expect(strip(shared.rows)).toEqual(strip(own.rows));
    const kv = shared.rows.filter((r) => r.policy === 'kvzip');
    expect(kv.length).toBeGreaterThan(0);
    // KVzip answers from a cache unlike SnapKV's (it read the repeat, not the prompt's last queries).
    const sn = shared.rows.filter((r) => r.policy === 'snapkv');
    expect(kv.map((r) => r.kl)).not.toEqual(sn.map((r) => r.kl));
    // Re-rotated SnapKV keeps SnapKV's slots (same bytes) but answers from re-rotated keys.
    const rr = shared.rows.filter((r) => r.policy === 'key-rerotation');
    expect(rr.map((r) => r.kv_bytes)).toEqual(sn.map((r) => r.kv_bytes));
    expect(rr.map((r) => r.kl)).not.toEqual(sn.map((r) => r.kl));
  }, 240_000);
});

