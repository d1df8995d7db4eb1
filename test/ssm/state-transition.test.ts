/**
 * The per-token state transition of RetentiveKV's state-space memory (issue 18): slots are
 * written in the order given, each as S ← h_i·S + a_i·φ(k_i)ᵀv_i on the state of its kind, so
 * the transition acts on what was written before it in the same absorb call (the per-event
 * decay of the earlier reading acted once per call, on a still-empty state at prefill).
 */
import { describe, expect, it } from 'vitest';
import type { AttentionStats } from '../../src/attention/stats.js';
import { ModalityCode } from '../../src/cache/modality.js';
import { allocTokenMeta, type TokenMeta } from '../../src/cache/token-meta.js';
import { StateSpaceMemory, type StateMemoryOptions } from '../../src/ssm/state-memory.js';

const D = 4;
const memory = (o: Partial<StateMemoryOptions> = {}) =>
  new StateSpaceMemory({
    numLayers: 1, kvHeads: 1, headDim: D, states: 'dual', featureMap: 'identity', retrieval: 'ungated', combine: 'additive',
    transition: 'per-token', gateWeight: 1, gateBias: 0, decayWeight: 0, decayBias: 0,
    ...o,
  });

function metaOf(modality: number[]): TokenMeta {
  const m = allocTokenMeta(modality.length);
  modality.forEach((x, i) => (m.modality[i] = x));
  return m;
}

/** count rows of e_b for each b of idx, laid end to end: [count][D]. */
function basis(idx: number[]): Float32Array {
  const out = new Float32Array(idx.length * D);
  idx.forEach((b, i) => (out[i * D + b] = 1));
  return out;
}

const stats: AttentionStats = { groupSize: 1, queries: 1, rowEntropy: [Float32Array.of(0)] };

/** Readout of q [D] (one query head) added to a zero local output. */
function read(mem: StateSpaceMemory, q: Float32Array): Float32Array {
  const out = new Float32Array(D);
  mem.readout(0, q, 1, 1, 1, D, stats, out);
  return out;
}

describe('per-token entropy-guided transition', () => {
  it('one absorb call: S = h2·h3·v1 + h3·v2 + v3 (h1 meets an empty state)', () => {
    const mem = memory();
    const h = [0.3, 0.6, 0.8];
    // One key for all three so the readout is the normalised weighted mean of the values.
    mem.absorb(0, 0, basis([0, 0, 0]), basis([1, 2, 3]), metaOf([ModalityCode.video, ModalityCode.video, ModalityCode.video]), Float32Array.of(1, 1, 1), undefined, Float32Array.from(h));
    const w = [h[1]! * h[2]!, h[2]!, 1];
    const total = w[0]! + w[1]! + w[2]!;
    const out = read(mem, basis([0]));
    expect(out[0]).toBeCloseTo(0, 6);
    for (let i = 0; i < 3; i++) expect(out[i + 1]).toBeCloseTo(w[i]! / total, 5);
  });

  it('dual layout: a token decays only the state of its own kind', () => {
    const mem = memory();
    const meta = metaOf([ModalityCode.video, ModalityCode.audio, ModalityCode.video]);
    mem.absorb(0, 0, basis([0, 0, 0]), basis([1, 2, 3]), meta, Float32Array.of(1, 1, 1), undefined, Float32Array.of(1, 0.1, 0.5));
    // S_V: 0.5·v1 + v3 (the audio token's 0.1 does not touch it); S_T: v2.
    const vis = mem.state(0, 0, 0)!;
    const num = new Float64Array(D);
    const den = vis.readInto(Float64Array.of(1, 0, 0, 0), num);
    expect(den).toBeCloseTo(1.5, 6);
    expect(num[1]).toBeCloseTo(0.5, 6);
    expect(num[3]).toBeCloseTo(1, 6);
  });

  it('needs the per-slot decay and rejects values outside (0, 1]', () => {
    const mem = memory();
    const meta = metaOf([ModalityCode.video]);
    expect(() => mem.absorb(0, 0, basis([0]), basis([1]), meta, Float32Array.of(1))).toThrow(/per-token transition needs the plan's retainDecay/);
    expect(() => mem.absorb(0, 0, basis([0]), basis([1]), meta, Float32Array.of(1), undefined, Float32Array.of(0))).toThrow(/decay\[0\] must be in \(0, 1\]/);
    expect(() => mem.absorb(0, 0, basis([0]), basis([1]), meta, Float32Array.of(1), undefined, Float32Array.of(1, 1))).toThrow(/decay has 2 entries; expected 1/);
  });
});
