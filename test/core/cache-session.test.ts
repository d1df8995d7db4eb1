import { describe, expect, it } from 'vitest';
import { CacheSession } from '../../src/cache/cache-session.js';
import { LayerCache } from '../../src/cache/layer-cache.js';
import type { Schedule } from '../../src/cache/schedule.js';
import type { CacheSessionOptions } from '../../src/cache/session-types.js';
import { textMeta } from '../../src/cache/token-meta.js';
import { referenceAttend } from '../../src/attention/reference-attention.js';
import { tsBackend } from '../../src/attention/ts-backend.js';
import type { PolicyInstance } from '../../src/cache/policy-api.js';
import { keepLastPolicy, randn, RecordingStore } from './fixtures.js';

const L = 2;
const KVH = 2;
const QH = 4;
const D = 8;
const PROMPT = 20;

function session(extra: Partial<CacheSessionOptions> = {}): CacheSession {
  return new CacheSession({ numLayers: L, qHeads: QH, kvHeads: KVH, headDim: D, backend: tsBackend, ...extra });
}

/** Runs a forward pass of n tokens starting at `start` through every layer (random K/V/Q per token). */
function forward(s: CacheSession, start: number, n: number, seed = 0): Float32Array[] {
  const outs: Float32Array[] = [];
  const qPositions = Int32Array.from({ length: n }, (_, i) => start + i);
  for (let l = 0; l < L; l++) {
    const key = 1000 * l + start + seed * 7919;
    s.append(l, randn(n * KVH * D, key), randn(n * KVH * D, key + 1), textMeta(n, start));
    outs.push(s.attend(l, randn(n * QH * D, key + 2), qPositions, new Uint8Array(n)));
  }
  return outs;
}

const lengths = (s: CacheSession) => Array.from({ length: L }, (_, l) => s.layer(l).length(0));

describe('CacheSession without a policy', () => {
  it('is a full cache whose attention equals the reference over all tokens', () => {
    const s = session();
    const [out0] = forward(s, 0, PROMPT);
    const c = new LayerCache({ layer: 0, kvHeads: KVH, headDim: D });
    c.append(randn(PROMPT * KVH * D, 0), randn(PROMPT * KVH * D, 1), textMeta(PROMPT));
    const ref = referenceAttend({ q: randn(PROMPT * QH * D, 2), n: PROMPT, qHeads: QH, qPositions: Int32Array.from({ length: PROMPT }, (_, i) => i), kv: c.layout(), scale: 1 / Math.sqrt(D), needs: {} });
    expect(Array.from(out0!)).toEqual(Array.from(ref.out));
    s.endPrefill();
    forward(s, PROMPT, 1);
    s.endStep();
    expect(lengths(s)).toEqual([21, 21]);
    expect(s.budgets()).toEqual([PROMPT, PROMPT]);
    expect(s.promptLength).toBe(PROMPT);
    expect(s.lastStats(0)).toEqual({ groupSize: 2, queries: 1 });
  });
});

describe('CacheSession schedules with a keep-last policy', () => {
  const run = (schedule: Schedule, steps: number) => {
    const policy = keepLastPolicy();
    const s = session({ policy, budget: { tokens: 6 }, schedule });
    forward(s, 0, PROMPT);
    s.endPrefill();
    const trace = [lengths(s)[0]!];
    for (let t = 0; t < steps; t++) {
      forward(s, PROMPT + t, 1);
      s.endStep();
      trace.push(lengths(s)[0]!);
    }
    return { s, trace, policy };
  };
  it('after-prefill compresses once and lets decode grow', () => {
    const { s, trace, policy } = run({ kind: 'after-prefill' }, 3);
    expect(trace).toEqual([6, 7, 8, 9]);
    expect(policy.seen.map((c) => [c.phase, c.layer, c.step])).toEqual([['prefill', 0, 0], ['prefill', 1, 0]]);
    expect(Array.from(s.layer(1).view().meta(1).position)).toEqual([14, 15, 16, 17, 18, 19, 20, 21, 22]);
    expect(s.timings().compressions).toBe(2);
  });
  it('every 2 steps compresses on even steps only', () => {
    const { trace, policy } = run({ kind: 'every', steps: 2 }, 4);
    expect(trace).toEqual([6, 7, 6, 7, 6]);
    expect(policy.seen.filter((c) => c.phase === 'decode').map((c) => c.step)).toEqual([2, 2, 4, 4]);
  });
  it('over-budget compresses whenever a layer exceeds its budget, without reallocating each step', () => {
    const { s, trace } = run({ kind: 'over-budget' }, 3);
    expect(trace).toEqual([6, 6, 6, 6]);
    expect(Array.from(s.layer(0).view().meta(0).position)).toEqual([17, 18, 19, 20, 21, 22]);
    expect(s.layer(0).capacity).toBe(7);
  });
  it('a compressed cache attends exactly like a cache built from the kept tokens only', () => {
    const { s } = run({ kind: 'after-prefill' }, 0);
    const n = 1;
    const q = randn(QH * D, 77);
    const qPos = Int32Array.of(PROMPT);
    const kept = s.layer(0);
    const fresh = new LayerCache({ layer: 0, kvHeads: KVH, headDim: D });
    const k = randn(PROMPT * KVH * D, 0);
    const v = randn(PROMPT * KVH * D, 1);
    fresh.append(k.slice(14 * KVH * D), v.slice(14 * KVH * D), textMeta(6, 14));
    const a = s.attend(0, q, qPos, new Uint8Array(n));
    const b = referenceAttend({ q, n, qHeads: QH, qPositions: qPos, kv: fresh.layout(), scale: 1 / Math.sqrt(D), needs: {} }).out;
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(kept.capacity).toBe(6);
  });
});

describe('CacheSession policy context and statistics', () => {
  it('passes budget, promptLength, queryAware, stats and a seeded random per (seed, layer, step)', () => {
    const mk = (seed: number, queryAware: boolean) => {
      const policy = keepLastPolicy({ cumulative: true, window: 4 });
      const s = session({ policy, budget: { ratio: 0.25 }, schedule: { kind: 'over-budget' }, seed, queryAware });
      forward(s, 0, PROMPT);
      s.endPrefill();
      forward(s, PROMPT, 1);
      s.endStep();
      return policy;
    };
    const a = mk(5, false);
    const b = mk(5, false);
    const c = mk(6, true);
    expect(a.seen[0]!.budget).toBe(5);
    expect(a.seen[0]!.promptLength).toBe(PROMPT);
    expect(a.seen[0]!.queryAware).toBe(false);
    expect(c.seen[0]!.queryAware).toBe(true);
    expect(a.seen[0]!.stats.window![0]).toHaveLength(PROMPT);
    expect(a.seen[2]!.stats.queries).toBe(1);
    expect(a.seenRandom).toEqual(b.seenRandom);
    expect(new Set(a.seenRandom).size).toBe(4); // differs across layers and steps
    expect(a.seenRandom).not.toEqual(c.seenRandom);
  });

  it('accumulates cumulative attention across prefill and decode, compacted with the slots', () => {
    const policy = keepLastPolicy({ cumulative: true });
    // A schedule that compresses during decode: the scores must keep accumulating.
    const s = session({ policy, budget: { tokens: 6 }, schedule: { kind: 'every', steps: 4 } });
    forward(s, 0, PROMPT);
    const prefillCum = s.lastStats(1)!.cumulative!.map((x) => x.slice());
    s.endPrefill();
    forward(s, PROMPT, 1);
    const stepCum = s.lastStats(1)!.cumulative!;
    for (let h = 0; h < KVH; h++) {
      const acc = s.layer(1).view().accumulated(h).cumulative!;
      for (let r = 0; r < 6; r++) expect(acc[r]).toBeCloseTo(prefillCum[h]![14 + r]! + stepCum[h]![r]!, 5);
      expect(acc[6]).toBeCloseTo(stepCum[h]![6]!, 6);
    }
  });

  it('uses allocateLayers budgets and validates them', () => {
    const alloc = (b: number[]) =>
      keepLastPolicy({ redistributed: true }, { allocateLayers: (args) => (args.stats.length === L && args.base === 10 && args.meta?.position[PROMPT - 1] === PROMPT - 1 ? b : []) });
    const s = session({ policy: alloc([4, 16]), budget: { ratio: 0.5 } });
    forward(s, 0, PROMPT);
    s.endPrefill();
    expect(s.budgets()).toEqual([4, 16]);
    expect(lengths(s)).toEqual([4, 16]);
    const bad = session({ policy: alloc([4, 1.5]), budget: { ratio: 0.5 } });
    forward(bad, 0, PROMPT);
    expect(() => bad.endPrefill()).toThrow(/policy "keep-last" allocateLayers\(\): budget of layer 1 is 1.5; expected an integer ≥ 0/);
  });

  it('with a retention store: asks for row entropy, adds the readout, counts its bytes', () => {
    const store = new RecordingStore(0.25);
    const policy: PolicyInstance = {
      name: 'retain-old',
      needs: {},
      retention: store,
      plan: (ctx) => ({ heads: Array.from({ length: ctx.view.kvHeads }, () => ({ keep: Int32Array.of(18, 19), retain: Int32Array.of(0, 1, 2) })) }),
    };
    const s = session({ policy, budget: { tokens: 2 } });
    expect(s.statNeeds).toEqual({ rowEntropy: true });
    const plain = session();
    const [withStore] = forward(s, 0, PROMPT);
    const [without] = forward(plain, 0, PROMPT);
    expect(withStore![3]).toBeCloseTo(without![3]! + 0.25, 6);
    expect(store.readouts[0]!.rowEntropy).toHaveLength(KVH);
    s.endPrefill();
    expect(store.absorbed).toHaveLength(L * KVH);
    const b = s.bytes();
    expect(b.retentionBytes).toBe(L * KVH * 2 * 3 * D * 4);
    expect(b.totalBytes).toBe(b.kvBytes + b.metaBytes + b.retentionBytes);
  });
});

describe('CacheSession bytes and clone', () => {
  it('reports exact bytes measured from the buffers', () => {
    const s = session({ policy: keepLastPolicy(), budget: { tokens: 5 }, dtype: 'bf16', initialCapacity: 4 });
    forward(s, 0, PROMPT);
    const full = s.bytes();
    expect(full.slots).toBe(L * KVH * PROMPT);
    expect(full.kvBytes).toBe(L * KVH * PROMPT * D * 2 * 2);
    expect(full.kvAllocatedBytes).toBe(L * KVH * 32 * D * 2 * 2);
    expect(full.logicalTokens).toBe(PROMPT);
    s.endPrefill();
    const small = s.bytes();
    expect(small.kvBytes / full.kvBytes).toBe(5 / PROMPT);
    expect(small.kvAllocatedBytes).toBe(small.kvBytes);
    expect(small.metaBytes).toBe(L * KVH * 5 * 21);
    expect(small.logicalTokens).toBe(5);
  });

  it('clone is independent: continuing one copy leaves the other untouched', () => {
    const s = session({ policy: keepLastPolicy({ cumulative: true }), budget: { tokens: 6 }, schedule: { kind: 'over-budget' } });
    forward(s, 0, PROMPT);
    s.endPrefill();
    const c = s.clone();
    expect(c.bytes()).toEqual(s.bytes());
    const before = Array.from(s.layer(0).view().keys(0));
    const accBefore = Array.from(s.layer(0).view().accumulated(0).cumulative!);
    forward(c, PROMPT, 1, 1);
    c.endStep();
    forward(c, PROMPT + 1, 1, 1);
    expect(Array.from(s.layer(0).view().keys(0))).toEqual(before);
    expect(Array.from(s.layer(0).view().accumulated(0).cumulative!)).toEqual(accBefore);
    expect([s.steps, c.steps]).toEqual([0, 1]);
    expect(c.layer(0).length(0)).toBe(7);
    // The original continues on its own as if the clone never existed.
    const twin = session({ policy: keepLastPolicy({ cumulative: true }), budget: { tokens: 6 }, schedule: { kind: 'over-budget' } });
    forward(twin, 0, PROMPT);
    twin.endPrefill();
    expect(forward(s, PROMPT, 1, 2)).toEqual(forward(twin, PROMPT, 1, 2));
  });

  it('clone copies a retention store through its clone()', () => {
    const store = new RecordingStore();
    const s = session({ policy: { ...keepLastPolicy(), retention: store }, budget: { tokens: 6 } });
    const c = s.clone();
    expect(c.bytes().retentionBytes).toBe(0);
    const noClone = { absorb() {}, readout() {}, bytes: () => 0 };
    expect(() => session({ policy: { ...keepLastPolicy(), retention: noClone }, budget: { tokens: 6 } }).clone()).toThrow(/retention store without clone\(\)/);
  });
});

describe('CacheSession rejects misuse with clear errors', () => {
  it('options', () => {
    expect(() => session({ qHeads: 3 })).toThrow(/qHeads = 3 must be a multiple of kvHeads = 2/);
    expect(() => session({ policy: keepLastPolicy() })).toThrow(/budget is required with policy "keep-last"/);
    expect(() => session({ policy: keepLastPolicy(), budget: { ratio: 1.5 } })).toThrow(/budget\.ratio must be a number in \[0, 1\]; got 1.5/);
    expect(() => session({ policy: keepLastPolicy(), budget: { tokens: -1 } })).toThrow(/budget\.tokens must be a whole number ≥ 0; got -1/);
    expect(() => session({ schedule: { kind: 'every', steps: 0 } })).toThrow(/schedule\.steps must be an integer ≥ 1; got 0/);
    expect(() => session({ schedule: { kind: 'sometimes' } as unknown as Schedule })).toThrow(/schedule\.kind must be/);
    expect(() => session({ numLayers: 0 })).toThrow(/numLayers must be an integer ≥ 1/);
  });
  it('call order, layer range and q shape', () => {
    const s = session();
    expect(() => s.endStep()).toThrow(/endStep\(\) called before endPrefill\(\)/);
    expect(() => s.budgets()).toThrow(/only after endPrefill/);
    expect(() => s.append(2, new Float32Array(0), new Float32Array(0), textMeta(0))).toThrow(/layer 2 is outside \[0, numLayers = 2\)/);
    expect(() => s.attend(0, new Float32Array(3), Int32Array.of(0), new Uint8Array(1))).toThrow(/args\.q has 3 elements/);
    s.endPrefill();
    expect(() => s.endPrefill()).toThrow(/already called/);
  });
  it('a plan over budget names the policy and layer; stale statistics are refused', () => {
    const greedy = { ...keepLastPolicy(), name: 'greedy', plan: () => ({ heads: [{ keep: Int32Array.of(0, 1, 2) }, { keep: Int32Array.of(0) }] }) };
    const s = session({ policy: greedy, budget: { tokens: 1 } });
    forward(s, 0, 4);
    expect(() => s.endPrefill()).toThrow(/policy "greedy" planned 4 slots for layer 0; its budget is 1 per KV head × 2 heads = 2/);
    const t = session({ policy: keepLastPolicy({ lastQuery: true }), budget: { tokens: 1 } });
    forward(t, 0, 4);
    t.append(1, randn(KVH * D, 1), randn(KVH * D, 2), textMeta(1, 4));
    expect(() => t.endPrefill()).toThrow(/layer 1 changed since its last attend\(\)/);
  });
});

describe('CacheSession edge budgets and chunked prefill', () => {
  it('budget 0 empties every layer; the next token then attends to itself only', () => {
    const s = session({ policy: keepLastPolicy(), budget: { tokens: 0 } });
    forward(s, 0, PROMPT);
    s.endPrefill();
    expect(lengths(s)).toEqual([0, 0]);
    expect(s.bytes().kvBytes).toBe(0);
    expect(s.bytes().kvAllocatedBytes).toBe(0);
    const v = randn(KVH * D, 1000 * 0 + PROMPT + 1);
    const [out] = forward(s, PROMPT, 1);
    // Softmax over one slot: each query head returns its KV head's value row.
    for (let qh = 0; qh < QH; qh++) {
      const h = Math.floor(qh / 2);
      expect(Array.from(out!.subarray(qh * D, (qh + 1) * D))).toEqual(Array.from(v.subarray(h * D, (h + 1) * D)));
    }
  });
  it('budget 1 keeps one slot per head', () => {
    const s = session({ policy: keepLastPolicy(), budget: { tokens: 1 } });
    forward(s, 0, PROMPT);
    s.endPrefill();
    expect(lengths(s)).toEqual([1, 1]);
    expect(s.layer(0).view().meta(1).position[0]).toBe(PROMPT - 1);
  });
  it('a prompt appended in chunks counts every chunk; the policy sees the last chunk statistics', () => {
    const policy = keepLastPolicy({ window: 3 });
    const s = session({ policy, budget: { ratio: 0.5 } });
    forward(s, 0, 12);
    forward(s, 12, 8);
    s.endPrefill();
    expect(s.promptLength).toBe(PROMPT);
    expect(lengths(s)).toEqual([10, 10]);
    expect(policy.seen[0]!.stats.queries).toBe(8);
    expect(policy.seen[0]!.stats.window![0]).toHaveLength(PROMPT);
  });
});
