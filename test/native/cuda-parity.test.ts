/**
 * The CUDA backend vs the TS reference on the same random problems as the CPU parity test
 * (skipped unless the addon was built with KVPRISM_CUDA=1 and a device is present).
 * Tolerance: 3e-5 + 1e-3·|reference| for outputs, 2e-4 + 2e-3·|reference| for statistics.
 */
import { describe, expect, it } from 'vitest';
import { ALL_STAT_NEEDS } from '../../src/attention/stats.js';
import { referenceAttend } from '../../src/attention/reference-attention.js';
import { loadAddon } from '../../src/attention/native/addon.js';
import { NativeBackend } from '../../src/attention/native/native-backend.js';
import type { KVDType } from '../../src/attention/backend.js';
import { buildArgs, worstRatio, type Problem } from './fixtures.js';

const addon = loadAddon();
const hasCuda = Boolean(addon && addon.info().cuda.devices > 0);

describe.skipIf(!hasCuda)('CUDA attend matches the TS reference', () => {
  it('random problems: dtypes × GQA × odd head dims × ragged lengths × all statistics', () => {
    const cuda = new NativeBackend(addon!, 'cuda');
    let k = 0;
    for (const headDim of [8, 63, 80, 128]) {
      for (const group of [1, 2, 4, 7]) {
        const dtype = (['f32', 'f16', 'bf16'] as KVDType[])[k % 3]!;
        const capacity = 1 + ((k * 53) % 300);
        const p: Problem = { kvHeads: 1 + (k % 3), group, headDim, capacity, lengths: [capacity, 1, 0].slice(0, 1 + (k % 3)), n: k % 2 ? 9 : 1, dtype, decode: k % 2 === 0, needs: ALL_STAT_NEEDS };
        const args = buildArgs(p, 500 + k);
        const want = referenceAttend(args);
        const got = cuda.attend(args);
        expect(worstRatio(got.out, want.out, 3e-5, 1e-3), `#${k} out`).toBeLessThanOrEqual(1);
        for (const key of ['cumulative', 'window', 'lastQuery', 'textColumn', 'redistributed', 'flows', 'rowEntropy'] as const) {
          for (let h = 0; h < p.kvHeads; h++) expect(worstRatio(got.stats[key]![h]!, want.stats[key]![h]!, 2e-4, 2e-3), `#${k} ${key}[${h}]`).toBeLessThanOrEqual(1);
        }
        k++;
      }
    }
  });
});

describe.skipIf(hasCuda || !addon)('CUDA unavailable', () => {
  it('attendCuda reports that no device or no CUDA build is present', () => {
    const args = buildArgs({ kvHeads: 1, group: 1, headDim: 8, capacity: 2, lengths: [2], n: 1, dtype: 'f32', decode: true, needs: {} }, 1);
    expect(() => addon!.attendCuda(args)).toThrow(/kvprism native/);
  });
});
