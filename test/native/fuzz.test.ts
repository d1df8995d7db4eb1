/**
 * Fuzzing the native boundary: thousands of malformed calls (wrong types, lengths, dtypes,
 * indices, NaN/negative/huge numbers, missing fields) must each either throw a JS Error
 * naming the argument or return normally — never crash the process (the test worker would
 * die and the file would fail).
 */
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../src/attention/native/addon.js';
import { mulberry32 } from '../../src/util/random.js';
import { buildArgs } from './fixtures.js';

const addon = loadAddon();

describe.skipIf(!addon)('native boundary fuzz', () => {
  it('attend survives 3000 mutated argument objects', () => {
    const rand = mulberry32(2024);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const junk = (): unknown =>
      pick<unknown>([undefined, null, -1, 0, 1, 2 ** 31, 1e300, NaN, -0.5, 'f16', 'bogus', {}, [], new Float32Array(3), new Uint16Array(5), new Int32Array([-5, 99999]), new Uint8Array([9, 250]), new Float64Array(2)]);
    let threw = 0;
    let ran = 0;
    for (let t = 0; t < 3000; t++) {
      const base = buildArgs(
        { kvHeads: 2, group: 2, headDim: 8, capacity: 6, lengths: [6, 3], n: 3, dtype: pick(['f32', 'f16', 'bf16'] as const), decode: t % 2 === 0, needs: { cumulative: true, window: 2, flows: true, textColumn: true, redistributed: true, rowEntropy: true, lastQuery: true } },
        t,
      );
      const args = { ...base, kv: { ...base.kv } } as Record<string, unknown> & { kv: Record<string, unknown> };
      const mutations = 1 + Math.floor(rand() * 3);
      for (let k = 0; k < mutations; k++) {
        const kv = args.kv as unknown;
        const target = rand() < 0.5 || !kv || typeof kv !== 'object' || ArrayBuffer.isView(kv) || Array.isArray(kv) ? args : args.kv;
        if (!Object.keys(target).length) continue;
        const key = pick(Object.keys(target));
        if (rand() < 0.3 && ArrayBuffer.isView(target[key])) {
          // Same type, wrong content: out-of-range indices, lengths and modality codes.
          const arr = (target[key] as Int32Array).slice();
          if (arr.length) arr[Math.floor(rand() * arr.length)] = pick([-1, 7, 255, 2 ** 30, -(2 ** 31)]);
          target[key] = arr;
        } else {
          target[key] = junk();
        }
      }
      try {
        addon!.attend(args as never);
        ran++;
      } catch (err) {
        expect(err).toBeInstanceOf(Error);
        expect((err as Error).message).toMatch(/^kvprism native /);
        threw++;
      }
    }
    expect(threw).toBeGreaterThan(2000);
    expect(ran + threw).toBe(3000);
  });

  it('attend survives junk statsInto (types, lengths, aliases of q/out/K/V)', () => {
    const rand = mulberry32(77);
    const base = buildArgs({ kvHeads: 2, group: 2, headDim: 8, capacity: 6, lengths: [6, 3], n: 3, dtype: 'f32', decode: false, needs: { cumulative: true, window: 2, flows: true, rowEntropy: true } }, 1);
    const views = (a: Float32Array) => [a, a.subarray(1), a.subarray(0, 12)];
    const candidates: unknown[] = [undefined, null, 3, 'x', [], {}, new Float32Array(12), new Float32Array(11), new Float64Array(32), new Float64Array(12), new Uint8Array(12), ...views(base.q), ...views(base.kv.keys as Float32Array), ...views(base.kv.values as Float32Array)];
    const keys = ['cumulative', 'window', 'flows', 'rowEntropy', 'lastQuery'];
    let threw = 0;
    for (let t = 0; t < 600; t++) {
      const into: Record<string, unknown> = {};
      for (const k of keys) if (rand() < 0.5) into[k] = candidates[Math.floor(rand() * candidates.length)];
      try {
        addon!.attend({ ...base, statsInto: (rand() < 0.1 ? candidates[Math.floor(rand() * candidates.length)] : into) as never });
      } catch (err) {
        expect(err).toBeInstanceOf(Error);
        expect((err as Error).message).toMatch(/^kvprism native /);
        threw++;
      }
    }
    expect(threw).toBeGreaterThan(200);
  });

  it('ops and cache functions reject junk with errors, never crash', () => {
    const rand = mulberry32(7);
    const values: unknown[] = [undefined, null, -1, 0, 3, 1e12, NaN, 'f32', 'x', {}, new Float32Array(4), new Uint16Array(4), new Int32Array([0, 9]), new Uint8Array(2)];
    const fns: [string, number][] = [['linear', 5], ['rmsNorm', 6], ['rope', 7], ['siluMul', 3], ['compact', 6], ['merge', 7], ['nearestCosine', 7], ['topK', 2], ['setThreads', 1], ['setIsa', 1], ['streamTriad', 2], ['adviseHugePages', 1]];
    let calls = 0;
    for (let t = 0; t < 4000; t++) {
      const [name, arity] = fns[t % fns.length]!;
      const argv = Array.from({ length: arity }, () => values[Math.floor(rand() * values.length)]);
      if (name === 'linear' && rand() < 0.5) argv[2] = { dtype: 'f32', data: new Float32Array(4), outFeatures: 2, inFeatures: Math.floor(rand() * 4) };
      if (name === 'streamTriad') continue; // allocates; covered by its own checks below
      try {
        (addon as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!(...argv);
      } catch (err) {
        expect(err).toBeInstanceOf(Error);
      }
      calls++;
    }
    expect(calls).toBeGreaterThan(3000);
    expect(() => addon!.streamTriad(0, 1)).toThrow(/mib/);
    for (const [mib, reps] of [[0, 1], [4097, 1], [1.5, 1], [1, 0], ['1', 1]] as const) expect(() => addon!.streamRead(mib as number, reps)).toThrow(/streamRead: (mib|reps)/);
    expect(addon!.streamRead(1, 1)).toBeGreaterThan(0); // the checked sum came back intact
    // allocKV maps memory, so only junk that must be refused (1e12 would be a real 1 TB mapping).
    for (const bad of [undefined, null, 'x', {}, -1, 0, NaN, 2 ** 47, new Float32Array(4)])
      expect(() => addon!.allocKV(bad as number)).toThrow(/allocKV: bytes/);
    addon!.setThreads(2);
  });
});
