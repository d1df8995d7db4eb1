import { describe, expect, it } from 'vitest';
import type { AttentionStats } from '../../src/attention/stats.js';
import { ModalityCode } from '../../src/cache/modality.js';
import { allocTokenMeta, type TokenMeta } from '../../src/cache/token-meta.js';
import { StateSpaceMemory, type StateMemoryOptions } from '../../src/ssm/state-memory.js';
import { randomRows } from './layer-fixture.js';

const D = 6;
const memory = (o: Partial<StateMemoryOptions> = {}) =>
  new StateSpaceMemory({
    numLayers: 2, kvHeads: 2, headDim: D, states: 'dual', featureMap: 'identity', retrieval: 'ungated', combine: 'additive', transition: 'per-event',
    gateWeight: 1, gateBias: 0, decayWeight: 0, decayBias: 40, // σ(40) = 1 in f64: no decay
    ...o,
  });

function metaOf(modality: number[]): TokenMeta {
  const m = allocTokenMeta(modality.length);
  modality.forEach((x, i) => (m.modality[i] = x));
  return m;
}

/** e_i scaled: orthogonal keys [n][D]. */
function basisKeys(idx: number[], scale = 1): Float32Array {
  const k = new Float32Array(idx.length * D);
  idx.forEach((b, i) => (k[i * D + b] = scale));
  return k;
}

const noStats = (entropy?: number[][]): AttentionStats => ({ groupSize: 2, queries: 1, ...(entropy ? { rowEntropy: entropy.map((r) => Float32Array.from(r)) } : {}) });

/** Readout of one query q [D] for KV head `head` of layer 0 (qHeads 4, group 2): returns [D]. */
function readOne(mem: StateSpaceMemory, q: Float32Array, head: number, stats = noStats([[0], [0]]), base?: Float32Array): Float32Array {
  const qAll = new Float32Array(4 * D);
  qAll.set(q, head * 2 * D);
  const out = new Float32Array(4 * D);
  if (base) out.set(base, head * 2 * D);
  mem.readout(0, qAll, 1, 4, 2, D, stats, out);
  return out.slice(head * 2 * D, head * 2 * D + D);
}

/** A local output, one absorbed key/value and statistics whose query entropy is 1.5, so the
 *  gate with w = 2, b = −1 is γ = σ(2·1.5 − 1). */
function gateFixture() {
  return {
    local: Float32Array.from({ length: D }, (_, t) => t + 1),
    k: basisKeys([2]),
    v: randomRows(1, D, 8),
    stats: noStats([[1.5], [0]]),
    gamma: 1 / (1 + Math.exp(-(2 * 1.5 - 1))),
  };
}

describe('state-space memory (RetentiveKV substrate)', () => {
  it('r = 1, a = 1, one absorbed token: the readout for its key is its value (Appendix B.5)', () => {
    for (const featureMap of ['identity', 'elu1'] as const) {
      const mem = memory({ featureMap });
      const k = randomRows(1, D, 1);
      const v = randomRows(1, D, 2);
      mem.absorb(0, 1, k, v, metaOf([ModalityCode.image]), Float32Array.of(1));
      const r = readOne(mem, k, 1);
      for (let t = 0; t < D; t++) expect(r[t]).toBeCloseTo(v[t]!, 5);
    }
  });

  it('recovers each of several evicted tokens when queried with its key (orthogonal keys)', () => {
    const mem = memory();
    const keys = basisKeys([0, 1, 2, 3, 4], 2);
    const values = randomRows(5, D, 3);
    mem.absorb(0, 0, keys, values, metaOf([1, 1, 0, 0, 2]), new Float32Array(5).fill(1));
    for (let i = 0; i < 5; i++) {
      const r = readOne(mem, keys.subarray(i * D, (i + 1) * D), 0);
      for (let t = 0; t < D; t++) expect(r[t]).toBeCloseTo(values[i * D + t]!, 5);
    }
    // The other head of the layer and other layers hold nothing: no readout there.
    expect(Array.from(readOne(mem, keys.subarray(0, D), 1))).toEqual(new Array(D).fill(0));
  });

  it('with elu+1 features the queried token dominates the readout', () => {
    const mem = memory({ featureMap: 'elu1' });
    const keys = basisKeys([0, 1, 2, 3], 6);
    for (let i = 0; i < 4 * D; i++) if (keys[i] === 0) keys[i] = -3; // other directions strongly negative
    const values = basisKeys([0, 1, 2, 3], 1);
    mem.absorb(0, 0, keys, values, metaOf([1, 1, 1, 1]), new Float32Array(4).fill(1));
    for (let i = 0; i < 4; i++) {
      const r = readOne(mem, keys.subarray(i * D, (i + 1) * D), 0);
      expect(r[i]!).toBeGreaterThan(0.95);
    }
  });

  it('holds constant memory in sequence length, counted exactly', () => {
    const mem = memory();
    const perState = (D * D + D) * 4 + 16; // S, z in f32 + log-scale and scale in f64
    const record = 2 * (2 * 2 * 4); // last row entropy and absorbed mass per (layer, kvHead), f32
    expect(mem.bytes()).toBe(record);
    mem.absorb(1, 0, randomRows(10, D, 4), randomRows(10, D, 5), metaOf(new Array(10).fill(ModalityCode.video)), new Float32Array(10).fill(1));
    expect(mem.bytes()).toBe(record + perState);
    const bytes10 = mem.bytes();
    for (let s = 0; s < 100; s++) mem.absorb(1, 0, randomRows(10, D, 6 + s), randomRows(10, D, 7 + s), metaOf(new Array(10).fill(ModalityCode.video)), new Float32Array(10).fill(0.5));
    expect(mem.bytes()).toBe(bytes10); // 1010 tokens absorbed, same bytes
    mem.absorb(1, 0, randomRows(1, D, 1), randomRows(1, D, 1), metaOf([ModalityCode.text]), Float32Array.of(1));
    expect(mem.bytes()).toBe(record + 2 * perState); // the recall state of the dual layout
    expect(memory({ states: 'unified' }).bytes()).toBe(record);
  });

  it('decays by r = σ(w·H̄ + b) once per absorb event, with exact relative weights', () => {
    const mem = memory({ decayWeight: 1, decayBias: -1 });
    const k = basisKeys([0]);
    const v1 = Float32Array.from({ length: D }, (_, t) => (t === 1 ? 1 : 0));
    const v2 = Float32Array.from({ length: D }, (_, t) => (t === 2 ? 1 : 0));
    const meta = metaOf([ModalityCode.image]);
    readOne(mem, k, 0, noStats([[2], [0]])); // records H̄ = 2 nats for head 0
    const r = 1 / (1 + Math.exp(-(2 - 1)));
    expect(mem.decayFor(0, 0)).toBeCloseTo(r, 12);
    mem.absorb(0, 0, k, v1, meta, Float32Array.of(1));
    mem.absorb(0, 0, k, v2, meta, Float32Array.of(1));
    const out = readOne(mem, k, 0);
    expect(out[1]).toBeCloseTo(r / (1 + r), 5);
    expect(out[2]).toBeCloseTo(1 / (1 + r), 5);
    expect(mem.decayFor(0, 0)).toBeCloseTo(1 / (1 + Math.E), 12); // the readout just recorded H̄ = 0: σ(−1)
  });

  it('survives long decays without underflow while keeping relative weights', () => {
    const mem = memory({ decayWeight: 0, decayBias: -4 }); // r ≈ 0.018 per event
    const k = basisKeys([3]);
    const meta = metaOf([ModalityCode.video]);
    for (let s = 0; s < 500; s++) mem.absorb(0, 1, k, randomRows(1, D, s), meta, Float32Array.of(1));
    const last = randomRows(1, D, 999);
    mem.absorb(0, 1, k, last, meta, Float32Array.of(1));
    const r = 1 / (1 + Math.exp(4));
    const prev = randomRows(1, D, 499);
    const out = readOne(mem, k, 1);
    for (let t = 0; t < D; t++) {
      expect(Number.isFinite(out[t]!)).toBe(true);
      expect(out[t]!).toBeCloseTo((last[t]! + r * prev[t]!) / (1 + r + r * r), 2);
    }
  });

  it('dual layout: text absorption does not decay the visual state; unified decays everything', () => {
    for (const states of ['dual', 'unified'] as const) {
      const mem = memory({ states, decayWeight: 0, decayBias: 0 }); // r = 0.5
      mem.absorb(0, 0, basisKeys([0]), basisKeys([0]), metaOf([ModalityCode.image]), Float32Array.of(1));
      mem.absorb(0, 0, basisKeys([0]), basisKeys([1]), metaOf([ModalityCode.text]), Float32Array.of(1));
      const out = readOne(mem, basisKeys([0]), 0);
      // dual: (1·v_img + 1·v_txt)/2; unified: (0.5·v_img + 1·v_txt)/1.5
      expect(out[0]).toBeCloseTo(states === 'dual' ? 0.5 : 1 / 3, 6);
    }
  });

  it('gates the readout by γ = σ(w·H̄_q + b), additive or convex; off and empty add nothing', () => {
    const { local, k, v, stats, gamma } = gateFixture();
    for (const combine of ['additive', 'convex'] as const) {
      const mem = memory({ retrieval: 'gated', combine, gateWeight: 2, gateBias: -1 });
      expect(Array.from(readOne(mem, k, 0, stats, local))).toEqual(Array.from(local)); // empty state
      mem.absorb(0, 0, k, v, metaOf([ModalityCode.image]), Float32Array.of(1));
      const out = readOne(mem, k, 0, stats, local);
      for (let t = 0; t < D; t++) {
        const want = combine === 'additive' ? local[t]! + gamma * v[t]! : (1 - gamma) * local[t]! + gamma * v[t]!;
        expect(out[t]).toBeCloseTo(want, 5);
      }
      expect(() => readOne(mem, k, 0, noStats(), local)).toThrow(/needs rowEntropy/);
    }
    const off = memory({ retrieval: 'off' });
    off.absorb(0, 0, k, v, metaOf([ModalityCode.image]), Float32Array.of(1));
    expect(Array.from(readOne(off, k, 0, stats, local))).toEqual(Array.from(local));
  });

  it('mass combine: out = (1−γm)·out + γm·O_S with m the attention mass absorbed, decayed with the state', () => {
    const { local, k, v, stats, gamma } = gateFixture();
    const mem = memory({ retrieval: 'gated', combine: 'mass', gateWeight: 2, gateBias: -1, decayWeight: 0, decayBias: 0 });
    expect(() => mem.absorb(0, 0, k, v, metaOf([ModalityCode.image]), Float32Array.of(1))).toThrow(/needs the plan's retainShare/);
    expect(() => mem.absorb(0, 0, k, v, metaOf([ModalityCode.image]), Float32Array.of(1), 1.5)).toThrow(/share must be in \[0, 1\]/);
    mem.absorb(0, 0, k, v, metaOf([ModalityCode.image]), Float32Array.of(1), 0.3);
    expect(mem.massOf(0, 0)).toBeCloseTo(0.3, 6);
    const out = readOne(mem, k, 0, stats, local);
    for (let t = 0; t < D; t++) expect(out[t]).toBeCloseTo((1 - gamma * 0.3) * local[t]! + gamma * 0.3 * v[t]!, 5);
    // decay r = σ(0) = 0.5 shrinks the old mass before the new share joins it.
    mem.absorb(0, 0, k, v, metaOf([ModalityCode.image]), Float32Array.of(1), 0.2);
    expect(mem.massOf(0, 0)).toBeCloseTo(1 - (1 - 0.5 * 0.3) * (1 - 0.2), 6);
    expect(mem.massOf(0, 1)).toBe(0);
  });

  it('rejects malformed input naming the argument, and clones independently', () => {
    const mem = memory();
    expect(() => mem.absorb(0, 0, new Float32Array(5), new Float32Array(6), metaOf([1]), Float32Array.of(1))).toThrow(/keys\/values have 5\/6 floats/);
    expect(() => mem.absorb(0, 0, new Float32Array(6), new Float32Array(6), metaOf([1]), Float32Array.of(-1))).toThrow(/strength\[0\]/);
    expect(() => mem.absorb(2, 0, new Float32Array(6), new Float32Array(6), metaOf([1]), Float32Array.of(1))).toThrow(/layer 2 is outside 0\.\.1/);
    expect(() => new StateSpaceMemory({ ...mem.options, headDim: 0 })).toThrow(/headDim must be an integer/);
    mem.absorb(0, 0, basisKeys([0]), basisKeys([1]), metaOf([1]), Float32Array.of(1));
    const copy = mem.clone();
    mem.absorb(0, 0, basisKeys([0]), basisKeys([2]), metaOf([1]), Float32Array.of(1));
    expect(readOne(copy, basisKeys([0]), 0)[1]).toBeCloseTo(1, 6);
    expect(readOne(mem, basisKeys([0]), 0)[1]).toBeCloseTo(0.5, 6);
  });
});
