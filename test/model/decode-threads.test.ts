import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAddon } from '../../src/attention/native/addon.js';
import { NativeBackend } from '../../src/attention/native/native-backend.js';
import { tsBackend } from '../../src/attention/ts-backend.js';
import { chooseDecodeThreads, fewestThreadsWithin, selectThreads, threadCandidates } from '../../src/model/decode-threads.js';
import { loadModel } from '../../src/model/model.js';
import { settleThreads } from '../../src/runner/backend-choice.js';

const storiesDir = fileURLToPath(new URL('../../../shared/models/stories260K', import.meta.url));
const speeds = (m: Record<number, number>) => Object.entries(m).map(([t, v]) => ({ threads: Number(t), tokPerSec: v }));

describe('decode thread selection: the fewest threads within the slowdown bound of the best', () => {
  it('picks by the bound, not the fastest', () => {
    const s = speeds({ 1: 100, 2: 190, 4: 198, 8: 200 });
    expect(fewestThreadsWithin(s)).toBe(2); // 190 ≥ 0.95 × 200
    expect(fewestThreadsWithin(s, 0)).toBe(8);
    expect(fewestThreadsWithin(s, 0.5)).toBe(1);
    // More threads slower (a small model, a busy machine): one thread.
    expect(fewestThreadsWithin(speeds({ 1: 900, 2: 600 }))).toBe(1);
    expect(fewestThreadsWithin(speeds({ 1: 100, 2: 104 }))).toBe(1); // 100 ≥ 0.95 × 104
    expect(fewestThreadsWithin(speeds({ 1: 100, 2: 106 }))).toBe(2);
  });

  it('rejects what it cannot choose from', () => {
    expect(() => fewestThreadsWithin([])).toThrow(/no speeds/);
    expect(() => fewestThreadsWithin(speeds({ 1: NaN, 2: 5 }))).toThrow(/1 threads measured NaN tok\/s/);
    expect(() => fewestThreadsWithin(speeds({ 1: 5 }), 1)).toThrow(/slowdown must be in \[0, 1\)/);
    expect(() => threadCandidates(0)).toThrow(/maxThreads must be an integer ≥ 1/);
    expect(() => selectThreads([1, 0], () => 1)).toThrow(/candidates must be integers ≥ 1/);
  });

  it('candidates are powers of two up to the core count, which is always tried', () => {
    expect(threadCandidates(1)).toEqual([1]);
    expect(threadCandidates(2)).toEqual([1, 2]);
    expect(threadCandidates(6)).toEqual([1, 2, 4, 6]);
    expect(threadCandidates(8)).toEqual([1, 2, 4, 8]);
  });

  it('measures round robin and keeps each count\'s median (an injected measurement)', () => {
    const calls: number[] = [];
    const series: Record<number, number[]> = { 1: [100, 100, 100], 2: [300, 150, 160], 4: [20, 400, 165] };
    const choice = selectThreads([1, 2, 4], (t) => {
      calls.push(t);
      return series[t]!.shift()!;
    }, { rounds: 3 });
    expect(calls).toEqual([1, 2, 4, 1, 2, 4, 1, 2, 4]);
    expect(choice.speeds).toEqual(speeds({ 1: 100, 2: 160, 4: 165 }));
    expect(choice.chosen).toBe(2); // 160 ≥ 0.95 × 165; one burst to 300 or 400 does not decide
    expect(choice.slowdown).toBe(0.05);
  });
});

const addon = loadAddon();

describe.skipIf(!addon)('a real calibration decode on stories260K', () => {
  const before = addon?.info().threads ?? 1;
  afterAll(() => addon!.setThreads(before));

  it('measures every candidate and leaves the pool at the chosen count', () => {
    const backend = new NativeBackend(addon!);
    const model = loadModel(storiesDir, { backend });
    const choice = chooseDecodeThreads(model, backend, { maxThreads: 2, context: 48, tokens: 3, rounds: 1 });
    expect(choice.speeds.map((s) => s.threads)).toEqual([1, 2]);
    for (const s of choice.speeds) expect(s.tokPerSec).toBeGreaterThan(0);
    expect(choice.chosen).toBe(fewestThreadsWithin(choice.speeds));
    expect(backend.threads).toBe(choice.chosen);
    expect(choice.measuredOn).toMatch(/3 tokens after a 48-token prompt/);
  });

  it('settleThreads: a fixed count is left alone; the ts backend measures nothing', () => {
    expect(settleThreads(loadModel(storiesDir, { backend: new NativeBackend(addon!) }), 2)).toBeUndefined();
    const ts = settleThreads(loadModel(storiesDir, { backend: tsBackend }), 'auto')!;
    expect(ts).toMatchObject({ chosen: 1, speeds: [] });
    expect(ts.measuredOn).toMatch(/backend ts has no native thread pool/);
  });
});
