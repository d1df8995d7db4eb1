import { describe, expect, it } from 'vitest';
import { CacheSession } from '../../src/cache/cache-session.js';
import type { Schedule } from '../../src/cache/schedule.js';
import { compressionMayFollowStep } from '../../src/cache/schedule.js';
import type { CacheSessionOptions } from '../../src/cache/session-types.js';
import { textMeta } from '../../src/cache/token-meta.js';
import type { StatNeeds } from '../../src/attention/stats.js';
import { tsBackend } from '../../src/attention/ts-backend.js';
import { keepLastPolicy, randn, RecordingStore } from './fixtures.js';

const L = 2;
const KVH = 2;
const QH = 4;
const D = 8;
const PROMPT = 20;
const POLICY_NEEDS: StatNeeds = { cumulative: true, window: 4, lastQuery: true, flows: true, recentQueries: 2 };

function session(extra: Partial<CacheSessionOptions>): CacheSession {
  return new CacheSession({ numLayers: L, qHeads: QH, kvHeads: KVH, headDim: D, backend: tsBackend, budget: { tokens: 8 }, ...extra });
}

/** One forward pass of n tokens from `start` through every layer; returns each layer's output (copied). */
function forward(s: CacheSession, start: number, n: number): Float32Array[] {
  const outs: Float32Array[] = [];
  const qPositions = Int32Array.from({ length: n }, (_, i) => start + i);
  for (let l = 0; l < L; l++) {
    const key = 1000 * l + start;
    s.append(l, randn(n * KVH * D, key), randn(n * KVH * D, key + 1), textMeta(n, start));
    outs.push(s.attend(l, randn(n * QH * D, key + 2), qPositions, new Uint8Array(n)).slice());
  }
  return outs;
}

/** The statistic names present in layer 0's latest statistics. */
const gathered = (s: CacheSession): string[] => Object.keys(s.lastStats(0)!).filter((k) => k !== 'groupSize' && k !== 'queries').sort();

describe('decode steps gather the policy statistics only when a compression follows', () => {
  it('after-prefill: no policy statistics at decode, gather still honoured, outputs bit-identical, no accumulation', () => {
    const lean = session({ policy: keepLastPolicy(POLICY_NEEDS), schedule: { kind: 'after-prefill' }, gather: { textColumn: true } });
    // The same session gathering everything on every step: the reference outputs.
    const full = session({ policy: keepLastPolicy(POLICY_NEEDS), schedule: { kind: 'after-prefill' }, gather: { ...POLICY_NEEDS, textColumn: true } });
    for (const s of [lean, full]) forward(s, 0, PROMPT);
    expect(gathered(lean)).toEqual(['cumulative', 'flows', 'lastQuery', 'recentQueries', 'textColumn', 'window']);
    lean.endPrefill();
    full.endPrefill();
    const accBefore = lean.layer(0).view().accumulated(0).cumulative!.slice();
    for (let t = 0; t < 3; t++) {
      const a = forward(lean, PROMPT + t, 1);
      const b = forward(full, PROMPT + t, 1);
      a.forEach((out, l) => expect(Array.from(out)).toEqual(Array.from(b[l]!)));
      expect(gathered(lean)).toEqual(['textColumn']);
      lean.endStep();
      full.endStep();
    }
    // No compression can come after the prefill's, so the H2O scores stop accumulating.
    expect(Array.from(lean.layer(0).view().accumulated(0).cumulative!.subarray(0, accBefore.length))).toEqual(Array.from(accBefore));
  });

  it('every 3 steps: the policy statistics on the steps a compression closes, the accumulated scores on every step', () => {
    const policy = keepLastPolicy(POLICY_NEEDS);
    const s = session({ policy, schedule: { kind: 'every', steps: 3 } });
    forward(s, 0, PROMPT);
    s.endPrefill();
    const seen: string[][] = [];
    for (let t = 0; t < 6; t++) {
      forward(s, PROMPT + t, 1);
      seen.push(gathered(s));
      s.endStep();
    }
    const all = ['cumulative', 'flows', 'lastQuery', 'recentQueries', 'window'];
    expect(seen).toEqual([['cumulative'], ['cumulative'], all, ['cumulative'], ['cumulative'], all]);
    // The compressions of steps 3 and 6 planned from that step's statistics (one query each).
    const decodePlans = policy.seen.filter((c) => c.phase === 'decode');
    expect(decodePlans.map((c) => c.step)).toEqual([3, 3, 6, 6]);
    for (const c of decodePlans) {
      expect(c.stats.queries).toBe(1);
      expect(c.stats.window).toHaveLength(KVH);
    }
  });

  it('a retention store keeps its row entropy on every decode step (its readout changes the output)', () => {
    const store = new RecordingStore(0.5);
    const s = session({ policy: keepLastPolicy({ window: 4 }, { retention: store }), schedule: { kind: 'after-prefill' } });
    forward(s, 0, PROMPT);
    s.endPrefill();
    forward(s, PROMPT, 1);
    expect(gathered(s)).toEqual(['rowEntropy']);
    expect(store.readouts.at(-1)!.rowEntropy).toHaveLength(KVH);
  });

  it('compressionMayFollowStep follows each schedule', () => {
    const at = (s: Schedule) => [0, 1, 2, 3, 4, 5].map((step) => compressionMayFollowStep(s, step));
    expect(at({ kind: 'after-prefill' })).toEqual([false, false, false, false, false, false]);
    expect(at({ kind: 'every', steps: 2 })).toEqual([false, true, false, true, false, true]);
    expect(at({ kind: 'over-budget' })).toEqual([true, true, true, true, true, true]);
  });
});
