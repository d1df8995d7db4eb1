/**
 * Attention over keys pruned along head_dim (ThinK): a pruned slot scores q_S·k_S over its
 * head's kept channels S, a whole slot q·k, the softmax scale stays the caller's, values keep
 * every channel. Checked against that definition written out by hand, for the TS reference and
 * the native CPU kernels, on random shapes (GQA, odd head dims, heads of 0 and 1 slots, decode
 * and prefill, f32 / f16 / bf16), with the statistics policies read.
 */
import { describe, expect, it } from 'vitest';
import type { AttendArgs, ComputeBackend } from '../../src/attention/backend.js';
import { kernelLayout } from '../../src/attention/native/coded-layout.js';
import { referenceAttend } from '../../src/attention/reference-attention.js';
import { mulberry32 } from '../../src/util/random.js';
import { nativeCpuBackend } from '../model/fixtures.js';
import { buildPruned, type BuiltPruned, type PrunedCase } from './fixtures.js';

/** Output [n][qHeads][d] and per-head Σ of probabilities per slot, from the definition. */
function byHand(b: BuiltPruned, q: Float32Array, qPos: Int32Array, qHeads: number, scale: number) {
  const { cache } = b;
  const d = cache.headDim;
  const group = qHeads / cache.kvHeads;
  const n = qPos.length;
  const out = new Float64Array(n * qHeads * d);
  const cumulative = b.keys.map((_, h) => new Float64Array(cache.length(h)));
  for (let h = 0; h < cache.kvHeads; h++) {
    const len = cache.length(h);
    const pos = cache.headMeta(h).position;
    const kept = new Set(b.channels[h]);
    for (let i = 0; i < n; i++) {
      for (let g = 0; g < group; g++) {
        const qo = (i * qHeads + h * group + g) * d;
        const s: number[] = [];
        for (let j = 0; j < len; j++) {
          if (pos[j]! > qPos[i]!) continue;
          let dot = 0;
          for (let c = 0; c < d; c++) if (j >= b.split[h]! || kept.has(c)) dot += q[qo + c]! * b.keys[h]![j * d + c]!;
          s[j] = dot * scale;
        }
        const max = Math.max(...s.filter((x) => x !== undefined));
        let sum = 0;
        s.forEach((x) => (sum += Math.exp(x - max)));
        s.forEach((x, j) => {
          const p = Math.exp(x - max) / sum;
          cumulative[h]![j] += p;
          for (let c = 0; c < d; c++) out[qo + c] += p * b.values[h]![j * d + c]!;
        });
      }
    }
  }
  return { out, cumulative };
}

function argsFor(b: BuiltPruned, group: number, n: number, seed: number): AttendArgs {
  const rand = mulberry32(seed);
  const { cache } = b;
  const qHeads = cache.kvHeads * group;
  const q = Float32Array.from({ length: n * qHeads * cache.headDim }, () => rand() * 3 - 1.5);
  let top = 0;
  for (let h = 0; h < cache.kvHeads; h++) for (const p of cache.headMeta(h).position) top = Math.max(top, p);
  // Queries at the end of the cache, the first ones seeing fewer slots (a causal prefill).
  const qPositions = Int32Array.from({ length: n }, (_, i) => top - (n - 1 - i));
  return { q, n, qHeads, qPositions, kv: cache.layout(), scale: 1 / Math.sqrt(cache.headDim), needs: { cumulative: true, window: 2 } };
}

const CASES: { name: string; c: PrunedCase; group: number; n: number }[] = [
  { name: 'MHA f32 decode', c: { kvHeads: 2, headDim: 8, dtype: 'f32', prefill: 20, kept: [12, 9], keyDim: 4, recent: 3, later: 2 }, group: 1, n: 1 },
  { name: 'GQA 4 odd head dim 37 prefill', c: { kvHeads: 2, headDim: 37, dtype: 'f32', prefill: 40, kept: [30, 17], keyDim: 19, recent: 5, later: 4 }, group: 4, n: 6 },
  { name: 'GQA 3 f16, heads of 0 and 1 slots', c: { kvHeads: 3, headDim: 13, dtype: 'f16', prefill: 10, kept: [0, 1, 7], keyDim: 5, recent: 0, later: 0 }, group: 3, n: 2 },
  { name: 'bf16 long (several KV blocks), keyDim 1', c: { kvHeads: 1, headDim: 64, dtype: 'bf16', prefill: 700, kept: [600], keyDim: 1, recent: 32, later: 3 }, group: 2, n: 1 },
  { name: 'f32 wide SIMD head dim 128, prefill 9 queries', c: { kvHeads: 2, headDim: 128, dtype: 'f32', prefill: 300, kept: [290, 260], keyDim: 64, recent: 32, later: 1 }, group: 2, n: 9 },
  { name: 'everything recent: nothing pruned', c: { kvHeads: 1, headDim: 6, dtype: 'f32', prefill: 5, kept: [5], keyDim: 2, recent: 8, later: 1 }, group: 1, n: 1 },
];

function check(backend: ComputeBackend | null, label: string): void {
  for (const [k, tc] of CASES.entries()) {
    it(`${label}: ${tc.name}`, () => {
      if (!backend) return;
      const b = buildPruned(tc.c, 100 + k);
      expect(b.cache.layout().prunedKeys?.keyDim).toBe(tc.c.keyDim);
      const args = argsFor(b, tc.group, tc.n, 200 + k);
      const want = byHand(b, args.q, args.qPositions, args.qHeads, args.scale);
      const got = backend.attend(args);
      for (let i = 0; i < want.out.length; i++) expect(got.out[i], `out[${i}]`).toBeCloseTo(want.out[i]!, 4);
      for (let h = 0; h < b.cache.kvHeads; h++) {
        expect(got.stats.cumulative![h]!.length).toBe(b.cache.length(h));
        want.cumulative[h]!.forEach((x, j) => expect(got.stats.cumulative![h]![j], `cumulative[${h}][${j}]`).toBeCloseTo(x, 4));
      }
    });
  }
}

describe('attention over pruned keys equals the kept-channel attention written by hand', () => {
  check({ attend: referenceAttend } as ComputeBackend, 'ts');
});

describe('kernels that read whole key rows only (CUDA) get a widened copy', () => {
  for (const dtype of ['f32', 'f16', 'bf16'] as const) {
    it(`${dtype}: same scores from whole rows with the dropped channels zero; the CPU kernels get the packed rows`, () => {
      const b = buildPruned({ kvHeads: 2, headDim: 11, dtype, prefill: 30, kept: [20, 13], keyDim: 6, recent: 3, later: 2 }, 21);
      const args = argsFor(b, 2, 3, 22);
      const wide = kernelLayout(args.kv, false);
      expect(wide.prunedKeys).toBeUndefined();
      expect(wide.keys.constructor).toBe(args.kv.keys.constructor);
      expect(kernelLayout(args.kv, true).prunedKeys).toBe(args.kv.prunedKeys);
      const a = referenceAttend(args);
      const w = referenceAttend({ ...args, kv: { ...wide, coded: undefined } });
      expect(w.out).toEqual(a.out);
      expect(w.stats.cumulative).toEqual(a.stats.cumulative);
    });
  }
});

describe('native CPU kernels over pruned keys', async () => {
  const cpu = await nativeCpuBackend();
  it.skipIf(!cpu)('the addon is built (else the native cases below are no-ops)', () => expect(cpu?.name).toBe('cpu'));
  check(cpu, 'cpu');

  it.skipIf(!cpu)('gives the reference’s output and statistics on the same layout', () => {
    const b = buildPruned({ kvHeads: 2, headDim: 24, dtype: 'f32', prefill: 90, kept: [70, 50], keyDim: 11, recent: 6, later: 5 }, 9);
    const args = { ...argsFor(b, 2, 7, 10), needs: { cumulative: true, window: 3, lastQuery: true, rowEntropy: true } };
    const ref = referenceAttend(args);
    const nat = cpu!.attend(args);
    ref.out.forEach((x, i) => expect(nat.out[i]).toBeCloseTo(x, 5));
    for (const key of ['cumulative', 'window', 'lastQuery', 'rowEntropy'] as const) {
      ref.stats[key]!.forEach((a, h) => a.forEach((x, j) => expect(nat.stats[key]![h]![j], `${key}[${h}][${j}]`).toBeCloseTo(x, 5)));
    }
  });

  it.skipIf(!cpu)('checks the pruned layout at the boundary, naming the field', () => {
    const b = buildPruned({ kvHeads: 2, headDim: 8, dtype: 'f32', prefill: 10, kept: [6, 6], keyDim: 3, recent: 2, later: 0 }, 4);
    const args = argsFor(b, 1, 1, 5);
    const pk = args.kv.prunedKeys!;
    const bad = (prunedKeys: object, msg: RegExp) => {
      const kv = { ...args.kv, prunedKeys } as AttendArgs['kv'];
      expect(() => cpu!.attend({ ...args, kv })).toThrow(msg);
      expect(() => referenceAttend({ ...args, kv })).toThrow(msg);
    };
    bad({ ...pk, channels: Int32Array.of(0, 2, 2, 1, 3, 5) }, /prunedKeys\.channels\[0\]\[2\] = 2; channels must be strictly ascending in \[0, headDim = 8\)/);
    bad({ ...pk, channels: Int32Array.of(0, 1, 8, 1, 3, 5) }, /prunedKeys\.channels\[0\]\[2\] = 8/);
    bad({ ...pk, split: Int32Array.of(7, 0) }, /prunedKeys\.split\[0\] = 7 is outside \[0, lengths\[0\] = 6\]/);
    bad({ ...pk, keyDim: 9 }, /prunedKeys\.keyDim must be an integer in \[1, (headDim = )?8\]/);
    bad({ ...pk, channels: new Int32Array(5) }, /prunedKeys\.channels/);
  });
});
