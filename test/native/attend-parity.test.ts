/**
 * NativeBackend.attend vs the TS reference (referenceAttend) on random problems: every ISA
 * this CPU runs × f32/f16/bf16 × GQA 1,2,4,7 × head dims 8, 63, 80, 128 × lengths 0, 1, odd,
 * full and long (split-K) × decode and causal prefill × all statistics on and off.
 * Tolerance: outputs and statistics within 2e-5 + 1e-3·|reference| (f32 accumulation in the
 * kernels vs f64 in the reference; both read the same 16-bit-decoded K/V).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ALL_STAT_NEEDS } from '../../src/attention/stats.js';
import type { AttentionStats } from '../../src/attention/stats.js';
import { referenceAttend } from '../../src/attention/reference-attention.js';
import { loadAddon } from '../../src/attention/native/addon.js';
import { NativeBackend } from '../../src/attention/native/native-backend.js';
import type { KVDType } from '../../src/attention/backend.js';
import { availableIsas, buildArgs, worstRatio, type Problem } from './fixtures.js';

const addon = loadAddon();
const ATOL = 2e-5;
const RTOL = 1e-3;
const STAT_KEYS = ['cumulative', 'window', 'lastQuery', 'textColumn', 'redistributed', 'flows', 'rowEntropy'] as const;

function problems(): Problem[] {
  const out: Problem[] = [];
  const dtypes: KVDType[] = ['f32', 'f16', 'bf16'];
  let k = 0;
  for (const headDim of [8, 63, 80, 128]) {
    for (const group of [1, 2, 4, 7]) {
      const dtype = dtypes[k % 3]!;
      const kvHeads = 1 + (k % 3);
      const capacity = 1 + ((k * 37) % 150);
      const lengths = Array.from({ length: kvHeads }, (_, h) => [0, 1, capacity, capacity - (capacity % 2 ? 0 : 1)][(k + h) % 4]!);
      const decode = k % 2 === 0;
      out.push({ kvHeads, group, headDim, capacity, lengths, n: decode ? 1 : 2 + (k % 23), dtype, decode, needs: k % 4 === 3 ? {} : { ...ALL_STAT_NEEDS, window: 1 + (k % 5) } });
      k++;
    }
  }
  out.push({ kvHeads: 2, group: 4, headDim: 128, capacity: 3000, lengths: [3000, 1777], n: 1, dtype: 'f16', decode: true, needs: ALL_STAT_NEEDS });
  out.push({ kvHeads: 1, group: 7, headDim: 80, capacity: 1200, lengths: [1199], n: 40, dtype: 'bf16', decode: false, needs: ALL_STAT_NEEDS });
  // Modality in runs: whole KV blocks of one modality (their flow is the block's Σp) next to mixed ones.
  out.push({ kvHeads: 2, group: 4, headDim: 64, capacity: 2100, lengths: [2100, 1500], n: 1, dtype: 'f32', decode: true, needs: ALL_STAT_NEEDS, modalityRuns: 700 });
  out.push({ kvHeads: 1, group: 2, headDim: 32, capacity: 1300, lengths: [1300], n: 9, dtype: 'f32', decode: false, needs: ALL_STAT_NEEDS, modalityRuns: 520 });
  return out;
}

function compareStats(a: AttentionStats, b: AttentionStats): number {
  let worst = 0;
  for (const key of STAT_KEYS) {
    const x = a[key];
    const y = b[key];
    expect(x === undefined, `stat ${key} presence`).toBe(y === undefined);
    if (!x || !y) continue;
    expect(x.length).toBe(y.length);
    for (let h = 0; h < x.length; h++) worst = Math.max(worst, worstRatio(x[h]!, y[h]!, ATOL * 10, RTOL));
  }
  expect(a.groupSize).toBe(b.groupSize);
  expect(a.queries).toBe(b.queries);
  return worst;
}

describe.skipIf(!addon)('native attend matches the TS reference', () => {
  const isas = availableIsas((isa) => addon!.setIsa(isa));
  afterAll(() => addon!.setIsa(isas[isas.length - 1]!));
  // The reference is the slow side: compute each problem's answer once for all ISAs.
  const cases = problems().map((p, idx) => {
    const args = buildArgs(p, 100 + idx);
    return { p, args, want: referenceAttend(args) };
  });

  for (const isa of isas) {
    it(`${isa}: ${cases.length} random problems, outputs and statistics`, () => {
      addon!.setIsa(isa);
      const cpu = new NativeBackend(addon!, 'cpu');
      cases.forEach(({ p, args, want }, idx) => {
        const got = cpu.attend({ ...args, out: undefined });
        const label = `${isa} #${idx} ${JSON.stringify({ ...p, needs: undefined })}`;
        expect(worstRatio(got.out, want.out, ATOL, RTOL), `${label} out`).toBeLessThanOrEqual(1);
        expect(compareStats(got.stats, want.stats), `${label} stats`).toBeLessThanOrEqual(1);
      });
    });
  }

  it('writes into a caller-provided out buffer and zeroes rows that see no slot', () => {
    const p: Problem = { kvHeads: 1, group: 2, headDim: 16, capacity: 8, lengths: [8], n: 5, dtype: 'f32', decode: false, needs: {} };
    const args = buildArgs(p, 9);
    args.qPositions[0] = -1; // sees nothing
    const out = new Float32Array(args.q.length).fill(42);
    const got = new NativeBackend(addon!).attend({ ...args, out });
    expect(got.out).toBe(out);
    expect(Array.from(out.subarray(0, 32)).every((v) => v === 0)).toBe(true);
    expect(worstRatio(out, referenceAttend(args).out, ATOL, RTOL)).toBeLessThanOrEqual(1);
  });

  it('reuse: statistics of an earlier call are overwritten in place when the shapes still match', () => {
    const p: Problem = { kvHeads: 2, group: 4, headDim: 32, capacity: 600, lengths: [600, 411], n: 1, dtype: 'f32', decode: true, needs: ALL_STAT_NEEDS };
    const backend = new NativeBackend(addon!);
    const first = backend.attend(buildArgs(p, 21));
    const args = buildArgs(p, 22);
    const fresh = backend.attend(args);
    const again = backend.attend({ ...args, reuse: first.stats });
    for (const key of STAT_KEYS) {
      const mine = again.stats[key]!;
      mine.forEach((head, h) => expect(Array.from(head)).toEqual(Array.from(fresh.stats[key]![h]!)));
      expect(mine[0]!.buffer).toBe(first.stats[key]![0]!.buffer); // written into, not allocated
    }
    // A grown cache cannot take the old arrays: fresh ones, same values as without reuse.
    const grown = buildArgs({ ...p, capacity: 700, lengths: [700, 411] }, 23);
    const g = backend.attend({ ...grown, reuse: again.stats });
    expect(g.stats.cumulative![0]!.buffer).not.toBe(again.stats.cumulative![0]!.buffer);
    expect(worstRatio(g.stats.cumulative![0]!, backend.attend(grown).stats.cumulative![0]!, ATOL, RTOL)).toBeLessThanOrEqual(1);
  });

  it('statsInto is validated: element type, length and aliasing are errors naming the array', () => {
    const p: Problem = { kvHeads: 1, group: 2, headDim: 8, capacity: 10, lengths: [10], n: 2, dtype: 'f32', decode: false, needs: { cumulative: true, flows: true } };
    const args = buildArgs(p, 5);
    expect(() => addon!.attend({ ...args, statsInto: { cumulative: new Float32Array(9) } })).toThrow(/statsInto\.cumulative .* has 9 elements; expected 10/);
    expect(() => addon!.attend({ ...args, statsInto: { flows: new Float32Array(16) as unknown as Float64Array } })).toThrow(/statsInto\.flows .* must be a Float64Array/);
    const out = new Float32Array(args.q.length + 10);
    expect(() => addon!.attend({ ...args, out: out.subarray(0, args.q.length), statsInto: { cumulative: out.subarray(args.q.length - 2, args.q.length + 8) } })).toThrow(/statsInto\.cumulative overlaps/);
    const into = { cumulative: new Float32Array(10).fill(7) };
    const r = addon!.attend({ ...args, statsInto: into });
    expect(r.stats.cumulative).toBe(into.cumulative);
    expect(Array.from(into.cumulative)).toEqual(Array.from(addon!.attend(args).stats.cumulative!));
  });
});
