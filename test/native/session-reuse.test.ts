/**
 * CacheSession on the native backend hands each layer's previous statistics back to attend
 * (AttendArgs.reuse): decode steps write into the same arrays instead of allocating, and the
 * statistics still equal those of a session on the TS reference.
 */
import { describe, expect, it } from 'vitest';
import { CacheSession } from '../../src/cache/cache-session.js';
import { textMeta } from '../../src/cache/token-meta.js';
import { loadAddon } from '../../src/attention/native/addon.js';
import { NativeBackend } from '../../src/attention/native/native-backend.js';
import { tsBackend } from '../../src/attention/ts-backend.js';
import type { ComputeBackend } from '../../src/attention/backend.js';
import { keepLastPolicy, randn } from '../core/fixtures.js';
import { worstRatio } from './fixtures.js';

const addon = loadAddon();
const L = 2;
const KVH = 2;
const QH = 8;
const D = 16;
const PROMPT = 40;

function run(backend: ComputeBackend) {
  const needs = { cumulative: true, window: 4, lastQuery: true, flows: true, rowEntropy: true };
  const s = new CacheSession({
    numLayers: L, qHeads: QH, kvHeads: KVH, headDim: D, backend,
    // gather: decode steps after an after-prefill compression gather only what is asked for here.
    policy: keepLastPolicy(needs), gather: needs,
    budget: { tokens: 1000 }, schedule: { kind: 'after-prefill' },
  });
  const buffers: ArrayBufferLike[][] = [];
  const step = (start: number, n: number) => {
    for (let l = 0; l < L; l++) {
      const key = 1000 * l + start;
      s.append(l, randn(n * KVH * D, key), randn(n * KVH * D, key + 1), textMeta(n, start));
      s.attend(l, randn(n * QH * D, key + 2), Int32Array.from({ length: n }, (_, i) => start + i), new Uint8Array(n));
    }
    buffers.push(Array.from({ length: L }, (_, l) => s.lastStats(l)!.cumulative![0]!.buffer));
  };
  step(0, PROMPT);
  s.endPrefill();
  for (let t = 0; t < 3; t++) {
    step(PROMPT + t, 1);
    s.endStep();
  }
  return { s, buffers };
}

describe.skipIf(!addon)('CacheSession statistics reuse on the native backend', () => {
  it('decode steps overwrite the previous arrays; values equal the TS reference session', () => {
    const native = run(new NativeBackend(addon!));
    const ts = run(tsBackend);
    // Steps 2 and 3 of decode (same capacity) wrote into step 1's arrays, layer by layer.
    for (let l = 0; l < L; l++) {
      expect(native.buffers[2]![l]).toBe(native.buffers[1]![l]);
      expect(native.buffers[3]![l]).toBe(native.buffers[1]![l]);
    }
    for (let l = 0; l < L; l++) {
      const a = native.s.lastStats(l)!;
      const b = ts.s.lastStats(l)!;
      for (const key of ['cumulative', 'window', 'lastQuery', 'flows', 'rowEntropy'] as const) {
        for (let h = 0; h < KVH; h++) expect(worstRatio(a[key]![h]!, b[key]![h]!, 2e-5, 1e-3)).toBeLessThanOrEqual(1);
      }
    }
  });
});
