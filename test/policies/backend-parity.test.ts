/**
 * Every catalogue policy (and the composed variants) through the native CPU backend and the TS
 * reference on the same prompt and decode steps: the plans — which original positions each
 * KV head keeps in every layer — are identical, and so are the slot weights after merging.
 */
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../src/attention/native/addon.js';
import { NativeBackend } from '../../src/attention/native/native-backend.js';
import { tsBackend } from '../../src/attention/ts-backend.js';
import type { ComputeBackend } from '../../src/attention/backend.js';
import { policies } from '../../src/policies/catalog.js';
import { forward, secondPassByHand, newSession, policyEnv, PROMPT_MODALITY, SHAPE, SMALL_OPTIONS } from './session-run.js';

const addon = loadAddon();
const P = PROMPT_MODALITY.length;
const env = policyEnv(3, 300);
/** As the matrix test, but compose gets a non-default composition. */
const OPTIONS: Record<string, Record<string, unknown>> = { ...SMALL_OPTIONS, compose: { scorer: 'keydiff', allocator: 'adakv', reducer: 'merge' } };
const CASES: [string, string, Record<string, unknown>][] = [
  ...policies.names().map((n): [string, string, Record<string, unknown>] => [n, n, OPTIONS[n] ?? {}]),
  ['criticalkv-adaptive', 'criticalkv', { window: 4, kernel: 3, heads: 'adaptive' }],
  ['compose-h2o-pyramid', 'compose', { scorer: 'h2o', allocator: 'pyramid' }],
  ['compose-keydiff-d2o', 'compose', { scorer: 'keydiff', allocator: 'd2o' }],
  ['compose-h2o-meda-merge', 'compose', { scorer: 'h2o', allocator: 'meda', reducer: 'merge' }],
  ['compose-snapkv-madakv', 'compose', { scorer: 'snapkv', scorerOptions: { window: 4, kernel: 3 }, allocator: 'madakv' }],
];

/** Positions and weights kept per layer and head after prefill and three decode steps. */
function run(backend: ComputeBackend, name: string, options: Record<string, unknown>) {
  const s = newSession(policies.create(name, options, env), 10, { kind: 'over-budget' }, 1, backend);
  forward(s, 0, PROMPT_MODALITY, 1);
  secondPassByHand(s, PROMPT_MODALITY, 2);
  s.endPrefill();
  for (let t = 0; t < 3; t++) {
    forward(s, P + t, [0], 50 + t);
    s.endStep();
  }
  return Array.from({ length: SHAPE.numLayers }, (_, l) =>
    Array.from({ length: SHAPE.kvHeads }, (_, h) => {
      const v = s.layer(l).view();
      const len = v.length(h);
      return { position: Array.from(v.meta(h).position.subarray(0, len)), weight: Array.from(v.meta(h).weight.subarray(0, len)) };
    }),
  );
}

describe.skipIf(!addon)('policies plan identically on the native backend and the TS reference', () => {
  it.each(CASES)('%s', (_label, name, options) => {
    expect(run(new NativeBackend(addon!), name, options)).toEqual(run(tsBackend, name, options));
  });
});
