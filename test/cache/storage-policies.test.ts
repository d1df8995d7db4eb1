/**
 * Every registered policy runs over every quantized storage kind through a real CacheSession
 * (TS reference reading the codes): it plans over decoded views, the cache compacts codes,
 * budgets hold, decode continues, and the K/V bytes stay within each kind's per-slot bound
 * (below f32's for int8-fp8).
 */
import { describe, expect, it } from 'vitest';
import { CacheSession } from '../../src/cache/cache-session.js';
import { tsBackend } from '../../src/attention/ts-backend.js';
import { policies } from '../../src/policies/catalog.js';
import type { KVStorage } from '../../src/cache/storage-spec.js';
import { forward, policyEnv, PROMPT_MODALITY, secondPassByHand, SHAPE, SMALL_OPTIONS } from '../policies/session-run.js';

const BUDGET = 10;
/** Per-head budgets move between heads; only the layer total is fixed. */
const PER_LAYER_TOTAL = new Set(['adakv', 'mixkv', 'kvzip']);
/**
 * Most K/V bytes one slot can cost. f32: 8·d. int8-fp8: 2·d codes + per-slot scales, below f32.
 * KIVI: codes 2·d·bits/8 + value scales per channel group (8 bytes each) + at worst a key group
 * of its own after eviction (a scale and a minimum per channel: 8·d) — above f32 at this tiny
 * head dim, which is why KIVI's budget is a bound, not "smaller than f32".
 */
const d = SHAPE.headDim;
const kiviWorst = (bits: number, group: number) => Math.max(8 * d, (2 * d * bits) / 8 + Math.ceil(d / group) * 8 + 8 * d);
const STORAGES: { label: string; storage: KVStorage; strictlySmaller: boolean; maxPerSlot: number }[] = [
  { label: 'f32', storage: 'f32', strictlySmaller: false, maxPerSlot: 8 * d },
  { label: 'int8-fp8', storage: { kind: 'int8-fp8', group: 4 }, strictlySmaller: true, maxPerSlot: 8 * d },
  { label: 'int4 G=4 R=2', storage: { kind: 'int4', group: 4, residual: 2 }, strictlySmaller: false, maxPerSlot: kiviWorst(4, 4) },
  { label: 'int2 G=4 R=0', storage: { kind: 'int2', group: 4, residual: 0 }, strictlySmaller: false, maxPerSlot: kiviWorst(2, 4) },
];
const env = policyEnv(5, 900);

describe.each(STORAGES)('$label storage', ({ storage, strictlySmaller, maxPerSlot }) => {
  it.each(policies.names())('%s plans, compacts and decodes within budget', (name) => {
    const policy = policies.create(name, SMALL_OPTIONS[name] ?? {}, env);
    const s = new CacheSession({ ...SHAPE, backend: tsBackend, policy, budget: { tokens: BUDGET }, schedule: { kind: 'every', steps: 2 }, seed: 1, storage });
    forward(s, 0, PROMPT_MODALITY, 1);
    secondPassByHand(s, PROMPT_MODALITY, 2);
    if (policy.rerotateKeys && typeof storage !== 'string') {
      // Re-rotating rewrites keys, which quantized storage holds as codes: refused by name.
      expect(() => s.endPrefill()).toThrow(new RegExp(`key rerotation rewrites the keys, which storage "${storage.kind}" holds as codes`));
      return;
    }
    if (name === 'think' && typeof storage !== 'string') {
      // ThinK packs dense key rows to the kept channels; keys held as codes are refused by name.
      expect(() => s.endPrefill()).toThrow(new RegExp(`key-channel pruning \\(ThinK\\) needs dense keys, but storage is "${storage.kind}"`));
      return;
    }
    s.endPrefill();
    const steps = 3;
    for (let step = 0; step < steps; step++) {
      forward(s, PROMPT_MODALITY.length + step, [0], 2 + step);
      s.endStep();
    }
    const budgets = s.budgets();
    for (let l = 0; l < SHAPE.numLayers; l++) {
      const budget = budgets[l]!;
      const lens = Array.from({ length: SHAPE.kvHeads }, (_, h) => s.layer(l).length(h));
      // Prefill-only policies (AccKV, FlowMM) append decode tokens uncompressed: ≤ budget + steps.
      if (PER_LAYER_TOTAL.has(name)) expect(lens.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual((budget + steps) * SHAPE.kvHeads);
      else lens.forEach((n) => expect(n).toBeLessThanOrEqual(budget + steps));
      for (let h = 0; h < SHAPE.kvHeads; h++) expect(s.layer(l).view().keys(h).every(Number.isFinite)).toBe(true);
    }
    const b = s.bytes();
    const f32Bytes = b.slots * SHAPE.headDim * 4 * 2;
    expect(b.kvBytes).toBeGreaterThan(0);
    if (strictlySmaller) expect(b.kvBytes).toBeLessThan(f32Bytes);
    expect(b.kvBytes).toBeLessThanOrEqual(b.slots * maxPerSlot);
  });
});
