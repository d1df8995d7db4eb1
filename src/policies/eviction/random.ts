/**
 * Random eviction — the floor every scored policy must beat: keep B slots drawn uniformly
 * without replacement, independently per KV head, from the session's seeded generator
 * (deterministic per seed, layer and step). No paper; a standard control (e.g. in kvpress).
 * Ours: `keepRecent` optionally protects the last slots (default 0: pure random).
 */
import { z } from 'zod';
import { definePolicy } from '../registry.js';
import { planPerHead } from '../parts/compose.js';
import { lastN, unionSorted } from '../parts/select.js';

export const randomOptions = z.object({
  keepRecent: z.number().int().min(0).default(0).describe('always keep this many most recent slots (within the budget)'),
});

/** k distinct draws from 0..n-1 (partial Fisher–Yates), ascending. */
export function sampleWithoutReplacement(n: number, k: number, random: () => number): Int32Array {
  const pool = Int32Array.from({ length: n }, (_, i) => i);
  const m = Math.max(0, Math.min(k, n));
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(random() * (n - i));
    const t = pool[i]!;
    pool[i] = pool[j]!;
    pool[j] = t;
  }
  return pool.slice(0, m).sort();
}

export const randomEviction = definePolicy({
  name: 'random',
  title: 'Random',
  kind: 'eviction',
  summary: 'Keeps a uniformly random subset of the budget size (seeded); the control baseline.',
  options: randomOptions,
  create(o) {
    return {
      name: 'random',
      needs: {},
      plan: (ctx) =>
        planPerHead(ctx, (_h, len) => {
          const r = Math.min(o.keepRecent, ctx.budget);
          return unionSorted(sampleWithoutReplacement(len - r, ctx.budget - r, ctx.random), lastN(len, r));
        }),
    };
  },
});
