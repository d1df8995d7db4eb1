/** Bad input gives errors that name the argument and the expected form. */
import { describe, expect, it } from 'vitest';
import { policies } from '../../src/policies/catalog.js';
import { EVICTION_POLICIES } from '../../src/policies/eviction/index.js';
import { MERGING_POLICIES } from '../../src/policies/merging/index.js';
import type { PolicyEnv } from '../../src/policies/registry.js';
import { makeCtx, makeStats, makeView, randomHeads } from './fixtures.js';

/** W_o [hidden 3][qHeads·headDim 8] so CriticalKV runs with the model's projection. */
const env: PolicyEnv = {
  numLayers: 2, kvHeads: 2, qHeads: 2, headDim: 4, seed: 1,
  outputProjection: () => ({ dtype: 'f32', data: Float32Array.from({ length: 24 }, (_, i) => Math.sin(i + 1)), outFeatures: 3, inFeatures: 8 }),
  rope: { rotaryDim: 4, axes: 1, inverseFrequencies: () => Float64Array.from([1, 0.01]) },
};
const mine = [...EVICTION_POLICIES, ...MERGING_POLICIES].map((d) => d.name).filter((n) => !n.startsWith('flowmm'));

describe('options', () => {
  it('unknown keys are rejected, naming the policy and the key', () => {
    expect(() => policies.create('snapkv', { windw: 8 }, env)).toThrow(/invalid options for policy "snapkv": policies\.snapkv\.\(options\): .*windw/);
  });
  it('out-of-range values name the field and the expected form', () => {
    expect(() => policies.create('snapkv', { kernel: 4 }, env)).toThrow(/policies\.snapkv\.kernel: must be an odd integer ≥ 1/);
    expect(() => policies.create('h2o', { recentShare: 2 }, env)).toThrow(/policies\.h2o\.recentShare:/);
    expect(() => policies.create('look-m', { merge: 'median' }, env)).toThrow(/policies\.look-m\.merge:/);
    expect(() => policies.create('adakv', { floorRatio: -0.1 }, env)).toThrow(/policies\.adakv\.floorRatio:/);
  });
  it('an unknown policy suggests the nearest name', () => {
    expect(() => policies.create('snapvk', {}, env)).toThrow(/unknown policy "snapvk"; did you mean "snapkv"\?/);
  });
  it('every option has a default and a description', () => {
    for (const d of policies.list()) {
      const shape = (d.options as unknown as { shape: Record<string, { description?: string }> }).shape;
      for (const [k, s] of Object.entries(shape)) expect(s.description, `${d.name}.${k}`).toBeTruthy();
      expect(() => policies.create(d.name, {}, env)).not.toThrow();
    }
  });
});

describe('budgets', () => {
  const view = makeView(randomHeads(2, 12, 4, 3, [0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]));
  const stats = makeStats({ cumulative: [new Array(12).fill(1), new Array(12).fill(1)], window: [new Array(12).fill(1), new Array(12).fill(1)], lastQuery: [new Array(12).fill(1), new Array(12).fill(1)], textColumn: [new Array(12).fill(1), new Array(12).fill(1)] }, 12);
  // ExpectedAttention reads the last query tokens themselves: [2][qHeads 2][headDim 4] at positions 10, 11.
  // MadaKV reads the modality flows (M×M per head; M = 4).
  stats.flows = [Float64Array.from({ length: 16 }, (_, i) => i % 5), Float64Array.from({ length: 16 }, (_, i) => i % 3)];
  stats.recentQueries = { q: Float32Array.from({ length: 16 }, (_, i) => Math.cos(i)), positions: Int32Array.from([10, 11]) };
  it.each(mine)('%s rejects a negative or fractional budget, naming the layer', (name) => {
    const p = policies.create(name, {}, env);
    expect(() => p.plan(makeCtx(view, stats, -1))).toThrow(/budget for layer 0 must be a whole number of slots per KV head ≥ 0; got -1/);
    expect(() => p.plan(makeCtx(view, stats, 2.5))).toThrow(/got 2\.5/);
  });
  // KVzip plans from its second pass's scores (its budgets: test/model/kvzip.test.ts).
  it.each(mine.filter((n) => !policies.create(n, {}, env).secondPass))('%s handles budgets 0, 1 and ≥ length', (name) => {
    const p = policies.create(name, {}, env);
    for (const b of [0, 1]) {
      const plan = p.plan(makeCtx(view, stats, b));
      const kept = plan!.heads.reduce((s, h) => s + h.keep.length, 0);
      expect(kept).toBe(b * 2);
    }
    expect(p.plan(makeCtx(view, stats, 12))).toBeNull();
  });
});
