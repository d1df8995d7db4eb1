/**
 * Drives a real CacheSession (TS reference backend) over a random multimodal prompt and decode
 * steps, for the policy matrix. Not a test file itself.
 */
import { CacheSession } from '../../src/cache/cache-session.js';
import type { Schedule } from '../../src/cache/schedule.js';
import { allocTokenMeta, type TokenMeta } from '../../src/cache/token-meta.js';
import { tsBackend } from '../../src/attention/ts-backend.js';
import type { ComputeBackend } from '../../src/attention/backend.js';
import type { PolicyInstance } from '../../src/cache/policy-api.js';
import type { PolicyEnv } from '../../src/policies/registry.js';
import { randomNormalArray } from '../../src/util/random.js';
import { observeRepeat } from '../../src/model/second-pass.js';

export const SHAPE = { numLayers: 3, kvHeads: 2, qHeads: 4, headDim: 8 } as const;
/** Small windows so the 24-token prompt exercises each policy's scores, not only its window. */
export const SMALL_OPTIONS: Readonly<Record<string, Record<string, unknown>>> = {
  snapkv: { window: 4, kernel: 3 },
  pyramidkv: { window: 4, kernel: 3 },
  adakv: { window: 4, kernel: 3 },
  mixkv: { window: 4, kernel: 3 },
  cam: { mergeSpan: 4 },
  fastv: { layer: 0 },
  criticalkv: { window: 4, kernel: 3 },
  chunkkv: { chunk: 3, scorerOptions: { window: 4, kernel: 3 } },
  lagkv: { sinks: 2, lag: 4 },
  madakv: { window: 4, kernel: 3 },
  'expected-attention': { window: 4, futurePositions: 16, sinks: 1 },
  compose: { scorerOptions: { window: 4, kernel: 3 } },
  'key-rerotation': { policy: 'snapkv', options: { window: 4, kernel: 3 } },
  kvzip: { sinks: 2 },
  think: { policy: 'snapkv', options: { window: 4, kernel: 3 }, ratio: 0.5, window: 4, recent: 2 },
};

/**
 * The model facts policies may ask for, at SHAPE: a random W_o [hidden = 12][qHeads·headDim]
 * per layer (seeded by `woSeed`), so CriticalKV runs its real path, and 1-D RoPE for
 * ExpectedAttention.
 */
export function policyEnv(seed: number, woSeed: number): PolicyEnv {
  const hidden = 12;
  const wo = Array.from({ length: SHAPE.numLayers }, (_, l) => randomNormalArray(hidden * SHAPE.qHeads * SHAPE.headDim, woSeed + l));
  return {
    ...SHAPE,
    seed,
    outputProjection: (l) => ({ dtype: 'f32', data: wo[l]!, outFeatures: hidden, inFeatures: SHAPE.qHeads * SHAPE.headDim }),
    rope: { rotaryDim: SHAPE.headDim, axes: 1, inverseFrequencies: () => Float64Array.from({ length: SHAPE.headDim / 2 }, (_, c) => 10000 ** ((-2 * c) / SHAPE.headDim)) },
  };
}

/** Prompt modality layout: 4 text, 12 image, 8 text (24 tokens). */
export const PROMPT_MODALITY = [...new Array<number>(4).fill(0), ...new Array<number>(12).fill(1), ...new Array<number>(8).fill(0)];

function metaFor(start: number, modality: number[]): TokenMeta {
  const m = allocTokenMeta(modality.length);
  modality.forEach((c, i) => {
    m.position[i] = start + i;
    m.modality[i] = c;
    if (c !== 0) m.segment[i] = 0;
  });
  return m;
}

/** One forward pass of tokens [start, start+modality.length) through every layer. */
export function forward(s: CacheSession, start: number, modality: number[], seed: number): void {
  const n = modality.length;
  const { numLayers, kvHeads, qHeads, headDim } = SHAPE;
  const qPos = Int32Array.from({ length: n }, (_, i) => start + i);
  for (let l = 0; l < numLayers; l++) {
    const key = seed * 104729 + 1000 * l + start;
    // Shared component across tokens makes neighbouring keys similar (merging has work to do).
    const k = randomNormalArray(n * kvHeads * headDim, key);
    for (let i = 0; i < k.length; i++) k[i] = 0.6 * k[i]! + (i % headDim === 0 ? 1 : 0);
    s.append(l, k, randomNormalArray(n * kvHeads * headDim, key + 1), metaFor(start, modality));
    s.attend(l, randomNormalArray(n * qHeads * headDim, key + 2), qPos, Uint8Array.from(modality));
  }
}

/**
 * What a model runtime does before endPrefill for a policy with a second pass (KVzip): the
 * prompt repeated over a clone of the session (random queries and keys, as forward's), every
 * layer handed to the pass. Does nothing for other policies.
 */
export function secondPassByHand(s: CacheSession, modality: number[], seed: number): void {
  const pass = s.options.policy?.secondPass;
  if (!pass) return;
  const P = modality.length;
  const clone = s.cloneGathering({ recentQueries: P });
  forward(clone, P, modality, seed);
  observeRepeat(clone, pass, P, 0, P, P);
}

export function newSession(policy: PolicyInstance, tokens: number, schedule: Schedule, seed = 1, backend: ComputeBackend = tsBackend): CacheSession {
  return new CacheSession({ ...SHAPE, backend, policy, budget: { tokens }, schedule, seed });
}

/** Slots per KV head of every layer: [layer][head]. */
export function headLengths(s: CacheSession): number[][] {
  return Array.from({ length: SHAPE.numLayers }, (_, l) => Array.from({ length: SHAPE.kvHeads }, (_, h) => s.layer(l).length(h)));
}
