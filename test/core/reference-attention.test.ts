import { describe, expect, it } from 'vitest';
import type { KVDType, KVLayout } from '../../src/attention/backend.js';
import { referenceAttend } from '../../src/attention/reference-attention.js';
import { tsBackend } from '../../src/attention/ts-backend.js';
import { ALL_STAT_NEEDS, type AttentionStats } from '../../src/attention/stats.js';
import { allocKV, encodeFromF32 } from '../../src/util/half.js';
import { gaussian, mulberry32, randomInt } from '../../src/util/random.js';
import { bruteForceAttention, type BruteForceResult } from './brute-force-attention.js';

interface Case {
  kvHeads: number;
  group: number;
  headDim: number;
  lengths: number[];
  n: number;
  dtype: KVDType;
  /** Slot positions with random gaps (a compressed cache) instead of 0..len-1. */
  gaps?: boolean;
  /** Queries come after every cached slot (decode) instead of overlapping it (prefill). */
  later?: boolean;
  seed: number;
}

function buildCase(c: Case) {
  const rand = mulberry32(c.seed);
  const g = gaussian(rand);
  const { kvHeads, headDim } = c;
  const capacity = Math.max(0, ...c.lengths) + randomInt(rand, 0, 3);
  const keys = allocKV(c.dtype, kvHeads * capacity * headDim);
  const values = allocKV(c.dtype, kvHeads * capacity * headDim);
  const positions = new Int32Array(kvHeads * capacity).fill(-7);
  const modality = new Uint8Array(kvHeads * capacity);
  let maxPos = 0;
  for (let h = 0; h < kvHeads; h++) {
    let pos = 0;
    for (let j = 0; j < c.lengths[h]!; j++) {
      positions[h * capacity + j] = pos;
      modality[h * capacity + j] = randomInt(rand, 0, 3);
      maxPos = Math.max(maxPos, pos);
      pos += c.gaps ? randomInt(rand, 1, 4) : 1;
    }
    const row = Float32Array.from({ length: c.lengths[h]! * headDim }, () => g());
    encodeFromF32(row, c.dtype, keys, h * capacity * headDim);
    encodeFromF32(row.map(() => g()), c.dtype, values, h * capacity * headDim);
  }
  const qHeads = kvHeads * c.group;
  const q = Float32Array.from({ length: c.n * qHeads * headDim }, () => g() * 1.5);
  // Prefill-like queries spread over the cached positions; decode-like ones after them.
  const qPositions = Int32Array.from({ length: c.n }, (_, i) =>
    c.later ? maxPos + 1 + i : Math.floor(((i + 1) * (maxPos + 1)) / Math.max(1, c.n)) - 1,
  );
  const qModality = Uint8Array.from({ length: c.n }, () => randomInt(rand, 0, 3));
  const kv: KVLayout = { kvHeads, headDim, capacity, dtype: c.dtype, keys, values, lengths: Int32Array.from(c.lengths), positions, modality };
  return { q, qHeads, qPositions, qModality, kv, scale: 1 / Math.sqrt(headDim) };
}

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = 2e-5): void {
  expect(actual.length, `${what} length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    if (!(Math.abs(a - e) <= tol * (1 + Math.abs(e)))) {
      throw new Error(`${what}[${i}] = ${a}, expected ${e}`);
    }
  }
}

function compareStats(s: AttentionStats, bf: BruteForceResult, kvHeads: number): void {
  for (let h = 0; h < kvHeads; h++) {
    close(s.cumulative![h]!, bf.cumulative[h]!, `cumulative[${h}]`);
    close(s.window![h]!, bf.window[h]!, `window[${h}]`);
    close(s.lastQuery![h]!, bf.lastQuery[h]!, `lastQuery[${h}]`);
    close(s.textColumn![h]!, bf.textColumn[h]!, `textColumn[${h}]`);
    close(s.redistributed![h]!, bf.redistributed[h]!, `redistributed[${h}]`);
    close(s.flows![h]!, bf.flows[h]!, `flows[${h}]`);
    close(s.rowEntropy![h]!, bf.rowEntropy[h]!, `rowEntropy[${h}]`);
  }
}

function runCase(c: Case, windowSize = 5): void {
  const x = buildCase(c);
  const n = c.n;
  const res = referenceAttend({ ...x, n, needs: { ...ALL_STAT_NEEDS, window: windowSize } });
  const bf = bruteForceAttention(x.q, n, x.qHeads, x.qPositions, x.qModality, x.kv, x.scale, windowSize);
  close(res.out, bf.out, 'out');
  expect(res.stats.groupSize).toBe(c.group);
  expect(res.stats.queries).toBe(n);
  compareStats(res.stats, bf, c.kvHeads);
}

describe('referenceAttend vs brute-force full attention matrix', () => {
  let seed = 1;
  for (const group of [1, 2, 4, 7]) {
    for (const headDim of [8, 64, 80, 128]) {
      it(`GQA ${group}, headDim ${headDim}, f32, ragged lengths`, () => {
        runCase({ kvHeads: 2, group, headDim, lengths: [13, 6], n: 9, dtype: 'f32', seed: seed++ });
      });
    }
  }
  for (const dtype of ['f32', 'f16', 'bf16'] as const) {
    for (const len of [0, 1, 7, 301]) {
      it(`${dtype}, cache length ${len} (prefill-like and decode queries)`, () => {
        runCase({ kvHeads: 2, group: 2, headDim: 16, lengths: [len, Math.max(0, len - 1)], n: len > 100 ? 33 : 5, dtype, seed: seed++ });
        runCase({ kvHeads: 1, group: 3, headDim: 16, lengths: [len], n: 1, dtype, later: true, seed: seed++ });
      });
    }
  }
  it('compressed cache: positions with gaps, queried by later tokens', () => {
    runCase({ kvHeads: 3, group: 2, headDim: 24, lengths: [40, 17, 0], n: 6, dtype: 'f16', gaps: true, later: true, seed: 99 });
    runCase({ kvHeads: 2, group: 4, headDim: 8, lengths: [40, 29], n: 11, dtype: 'bf16', gaps: true, seed: 100 }, 50);
  });
  it('window 0 and a window longer than n', () => {
    runCase({ kvHeads: 2, group: 2, headDim: 8, lengths: [9, 9], n: 4, dtype: 'f32', seed: 7 }, 100);
    const x = buildCase({ kvHeads: 2, group: 2, headDim: 8, lengths: [9, 9], n: 4, dtype: 'f32', seed: 7 });
    const r = referenceAttend({ ...x, n: 4, needs: { cumulative: true, window: 0 } });
    expect(r.stats.window).toBeUndefined();
    expect(r.stats.lastQuery).toBeUndefined();
    expect(r.stats.cumulative).toHaveLength(2);
  });
});

describe('referenceAttend semantics', () => {
  it('a row with no visible slot outputs zeros and zero entropy; rows sum to one', () => {
    const x = buildCase({ kvHeads: 1, group: 2, headDim: 8, lengths: [5], n: 2, dtype: 'f32', gaps: true, seed: 3 });
    x.kv.positions.set([10, 11, 12, 13, 14]);
    const qPositions = Int32Array.of(3, 20);
    const r = referenceAttend({ ...x, qPositions, n: 2, needs: { cumulative: true, rowEntropy: true } });
    expect(Array.from(r.out.subarray(0, 16))).toEqual(new Array(16).fill(0));
    expect(r.stats.rowEntropy![0]![0]).toBe(0);
    expect(r.stats.rowEntropy![0]![1]).toBeGreaterThan(0);
    // Two query heads, one row each that sees everything: the column sums total 2.
    const total = r.stats.cumulative![0]!.reduce((a, b) => a + b, 0);
    expect(total).toBeCloseTo(2, 5);
  });
  it('writes into a provided out buffer and tsBackend exposes it', () => {
    const x = buildCase({ kvHeads: 2, group: 1, headDim: 8, lengths: [4, 4], n: 3, dtype: 'f32', seed: 5 });
    const out = new Float32Array(3 * 2 * 8).fill(42);
    const r = tsBackend.attend({ ...x, n: 3, needs: {}, out });
    expect(r.out).toBe(out);
    expect(out.includes(42)).toBe(false);
    expect(tsBackend.name).toBe('ts');
  });
});

describe('referenceAttend rejects bad input naming the argument', () => {
  const x = buildCase({ kvHeads: 2, group: 2, headDim: 8, lengths: [4, 3], n: 2, dtype: 'f32', seed: 11 });
  const ok = { ...x, n: 2, needs: {} };
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['q length', () => referenceAttend({ ...ok, q: new Float32Array(5) }), /args\.q has 5 elements; expected n×qHeads×headDim/],
    ['NaN query', () => referenceAttend({ ...ok, q: x.q.map((v, i) => (i === 9 ? Number.NaN : v)) }), /args\.q\[0\]\[1\]\[1\] is NaN/],
    ['qHeads % kvHeads', () => referenceAttend({ ...ok, qHeads: 3, q: new Float32Array(2 * 3 * 8) }), /qHeads = 3 must be a multiple of args\.kv\.kvHeads = 2/],
    ['scale', () => referenceAttend({ ...ok, scale: 0 }), /args\.scale must be a finite number > 0/],
    ['qPositions', () => referenceAttend({ ...ok, qPositions: new Int32Array(3) }), /args\.qPositions must be an Int32Array of n = 2/],
    ['qModality missing', () => referenceAttend({ ...ok, qModality: undefined, needs: { flows: true } }), /args\.qModality .* is required/],
    ['qModality code', () => referenceAttend({ ...ok, qModality: Uint8Array.of(0, 9) }), /args\.qModality\[1\] = 9/],
    ['out length', () => referenceAttend({ ...ok, out: new Float32Array(3) }), /args\.out must be a Float32Array/],
    ['keys length', () => referenceAttend({ ...ok, kv: { ...x.kv, keys: new Float32Array(3) } }), /args\.kv\.keys has 3 elements/],
    ['keys dtype', () => referenceAttend({ ...ok, kv: { ...x.kv, dtype: 'f16' } }), /args\.kv\.keys must be a Uint16Array for dtype f16/],
    ['lengths > capacity', () => referenceAttend({ ...ok, kv: { ...x.kv, lengths: Int32Array.of(4, 99) } }), /lengths\[1\] = 99 is outside/],
    ['positions length', () => referenceAttend({ ...ok, kv: { ...x.kv, positions: new Int32Array(1) } }), /args\.kv\.positions must be an Int32Array/],
    ['window', () => referenceAttend({ ...ok, needs: { window: 1.5 } }), /needs\.window must be an integer/],
    ['Inf key', () => referenceAttend({ ...ok, kv: { ...x.kv, keys: (x.kv.keys as Float32Array).map((v, i) => (i === x.kv.capacity * 8 + 3 ? Infinity : v)) } }), /args\.kv\.keys\[1\]\[0\]\[3\] is Infinity/],
  ];
  for (const [name, f, re] of cases) it(name, () => expect(f).toThrow(re));
});
