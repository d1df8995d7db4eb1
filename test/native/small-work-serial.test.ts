/**
 * Calls under the pool's work threshold (kMinParallelWork, 2^18 multiply-adds) run on the
 * caller's thread, planned as for one thread: with 2 pool threads they must give exactly the
 * 1-thread result (a different KV split would change the last bits of attention), and calls
 * above it still match the TS reference.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { referenceAttend } from '../../src/attention/reference-attention.js';
import { referenceLinear } from '../../src/attention/reference-ops.js';
import { loadAddon } from '../../src/attention/native/addon.js';
import { NativeBackend } from '../../src/attention/native/native-backend.js';
import { mulberry32 } from '../../src/util/random.js';
import { buildArgs, worstRatio, type Problem } from './fixtures.js';

const addon = loadAddon();

describe.skipIf(!addon)('native calls under the parallel-work threshold', () => {
  const threads = addon?.info().threads ?? 1;
  afterAll(() => addon!.setThreads(threads));

  /** The call's result on 1 and on 2 pool threads. */
  const onOneAndTwo = <T>(f: (be: NativeBackend) => T): [T, T] => {
    const be = new NativeBackend(addon!);
    addon!.setThreads(1);
    const one = f(be);
    addon!.setThreads(2);
    return [one, f(be)];
  };

  it('decode attention (2·qHeads·len·headDim < 2^18) equals the 1-thread result bit for bit', () => {
    // 2 KV heads × group 2 × 900 slots × 32 dims: 230k multiply-adds, split in 2 by the 1-thread plan.
    const p: Problem = { kvHeads: 2, group: 2, headDim: 32, capacity: 960, lengths: [900, 700], n: 1, dtype: 'f32', decode: true, needs: { window: 1, cumulative: true } };
    const args = buildArgs(p, 5);
    const [one, two] = onOneAndTwo((be) => be.attend({ ...args, out: undefined }));
    expect(Array.from(two.out)).toEqual(Array.from(one.out));
    for (let h = 0; h < 2; h++) expect(Array.from(two.stats.window![h]!)).toEqual(Array.from(one.stats.window![h]!));
  });

  it('above the threshold the pool runs and still matches the reference', () => {
    const p: Problem = { kvHeads: 2, group: 4, headDim: 64, capacity: 4096, lengths: [4096, 3000], n: 1, dtype: 'f32', decode: true, needs: {} };
    const args = buildArgs(p, 6);
    const ref = referenceAttend(args);
    const [, two] = onOneAndTwo((be) => be.attend({ ...args, out: undefined }));
    expect(worstRatio(two.out, ref.out, 1e-5, 1e-4)).toBeLessThanOrEqual(1);
  });

  it('small and large GEMVs equal the 1-thread result and the reference', () => {
    const rand = mulberry32(9);
    for (const [out, inF] of [[384, 128], [1024, 512]] as const) {
      const w = { dtype: 'f32' as const, data: Float32Array.from({ length: out * inF }, () => rand() - 0.5), outFeatures: out, inFeatures: inF };
      const x = Float32Array.from({ length: inF }, () => rand() - 0.5);
      const [one, two] = onOneAndTwo((be) => be.linear(x, 1, w));
      expect(Array.from(two)).toEqual(Array.from(one));
      expect(worstRatio(two, referenceLinear(x, 1, w), 1e-5, 1e-4)).toBeLessThanOrEqual(1);
    }
  });
});
