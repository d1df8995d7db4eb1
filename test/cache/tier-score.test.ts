/**
 * The DRAM–flash tier by score (cache.tier.by = 'score'): after every append, eviction and merge
 * each head's file holds exactly its lowest-scored slots outside the first `sinks` and the
 * newest `recent` (ties to the older slot), as many as the tier's target; slots keep their
 * order (keys, values and metadata identical to an untiered cache's, slot by slot); the rows
 * the kernels read name their slots (layout rowSlots); options are checked by name.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAddon } from '../../src/attention/native/addon.js';
import { NativeBackend } from '../../src/attention/native/native-backend.js';
import { CacheSession } from '../../src/cache/cache-session.js';
import { LayerCache } from '../../src/cache/layer-cache.js';
import { TierFile } from '../../src/cache/tier-file.js';
import { tierSpec, type TierOptions, type TierSpec } from '../../src/cache/tier-spec.js';
import { textMeta } from '../../src/cache/token-meta.js';
import { mulberry32, randomNormalArray } from '../../src/util/random.js';
import { worstRatio } from '../native/fixtures.js';
import { randomKV } from './storage-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'kvprism-tier-score-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KV_HEADS = 2;
const D = 6;

function pair(tier: TierOptions): { tiered: LayerCache; plain: LayerCache; spec: TierSpec } {
  const spec = tierSpec({ ...tier, dir });
  const file = TierFile.open(spec);
  const opts = { layer: 0, kvHeads: KV_HEADS, headDim: D, dtype: 'f32' as const, initialCapacity: 1 };
  return { tiered: new LayerCache({ ...opts, tier: { spec, file } }), plain: new LayerCache(opts), spec };
}

function appendTokens(caches: LayerCache[], from: number, n: number, seed: number): void {
  const { k, v } = randomKV(n, KV_HEADS, D, seed);
  for (const c of caches) c.append(k, v, textMeta(n, from));
}

/** Random column sums with repeated values (ties), as an attend would add them. */
function addScores(c: LayerCache, seed: number): void {
  const rand = mulberry32(seed);
  c.addTierScores(Array.from({ length: KV_HEADS }, (_, h) => Float32Array.from({ length: c.length(h) }, () => Math.floor(rand() * 8) / 4)));
}

/** What the file must hold, from the scores alone: sort the unprotected slots by (score, slot), take the target. */
function expectedCold(c: LayerCache, spec: TierSpec, h: number): number[] {
  const len = c.length(h);
  const score = c.tierScores(h)!;
  const eligible = Array.from({ length: Math.max(0, len - spec.sinks - spec.recent) }, (_, i) => i + spec.sinks);
  eligible.sort((a, b) => score[a]! - score[b]! || a - b);
  return eligible.slice(0, spec.coldTarget(len)).sort((a, b) => a - b);
}

function coldOf(c: LayerCache, h: number): number[] {
  return Array.from({ length: c.length(h) }, (_, s) => s).filter((s) => c.isColdSlot(h, s));
}

function expectConsistent(tiered: LayerCache, plain: LayerCache, spec: TierSpec): void {
  const tier = tiered.layout().tier!;
  for (let h = 0; h < KV_HEADS; h++) {
    expect(tiered.length(h)).toBe(plain.length(h));
    expect(coldOf(tiered, h), `head ${h} on file`).toEqual(expectedCold(tiered, spec, h));
    expect(tier.coldLengths[h]).toBe(spec.coldTarget(tiered.length(h)));
    for (const which of ['keys', 'values'] as const) expect(Array.from(tiered.decodeHead(which, h))).toEqual(Array.from(plain.decodeHead(which, h)));
    expect(Array.from(tiered.headMeta(h).position)).toEqual(Array.from(plain.headMeta(h).position));
    // Row r of the layout holds slot rowSlots[r]: its K row is that slot's key.
    const keys = plain.decodeHead('keys', h);
    const cap = tiered.capacity;
    for (let r = 0; r < tiered.length(h); r++) {
      const s = tier.rowSlots![h * cap + r]!;
      const cold = r < tier.coldLengths[h]!;
      const base = cold ? (h * tier.coldCapacity + r) * D : (h * tier.hotCapacity + tier.hotStart[h]! + r - tier.coldLengths[h]!) * D;
      const buf = (cold ? tier.coldKeys : tiered.layout().keys) as Float32Array;
      expect(Array.from(buf.subarray(base, base + D))).toEqual(Array.from(keys.subarray(s * D, (s + 1) * D)));
    }
  }
}

describe.skipIf(!loadAddon())('tier by score', () => {
  it('a session on the native kernels attends as an untiered one, and ranks by the column sums it gathers for the tier only', () => {
    const shape = { numLayers: 2, kvHeads: 2, qHeads: 6, headDim: 16 };
    const backend = new NativeBackend(loadAddon()!);
    const tiered = new CacheSession({ ...shape, backend, tier: { coldFraction: 0.7, by: 'score', sinks: 2, recent: 4, dir } });
    // The untiered twin gathers the column sums itself: its accumulated scores are what the tier ranks by.
    const plain = new CacheSession({ ...shape, backend, gather: { cumulative: true } });
    const step = (start: number, n: number, seed: number): void => {
      const qPos = Int32Array.from({ length: n }, (_, i) => start + i);
      const mod = new Uint8Array(n);
      for (let l = 0; l < shape.numLayers; l++) {
        const k = randomNormalArray(n * shape.kvHeads * shape.headDim, seed + l);
        const v = randomNormalArray(n * shape.kvHeads * shape.headDim, seed + l + 50);
        const q = randomNormalArray(n * shape.qHeads * shape.headDim, seed + l + 99);
        for (const s of [tiered, plain]) s.append(l, k, v, textMeta(n, start));
        const a = tiered.attend(l, q, qPos, mod);
        const b = plain.attend(l, q, qPos, mod);
        expect(worstRatio(a, b, 2e-5, 1e-3), `tokens ${start}.., layer ${l}: out`).toBeLessThanOrEqual(1);
        expect(tiered.lastStats(l)?.cumulative).toBeUndefined();
      }
    };
    step(0, 40, 1);
    for (let t = 0; t < 6; t++) step(40 + t, 1, 10 + t);
    for (let l = 0; l < shape.numLayers; l++) {
      for (let h = 0; h < shape.kvHeads; h++) {
        const want = plain.layer(l).headCumulative(h)!;
        expect(worstRatio(tiered.layer(l).tierScores(h)!, want, 2e-5, 1e-3), `layer ${l} head ${h}: scores`).toBeLessThanOrEqual(1);
        expect(tiered.layer(l).headCumulative(h)).toBeUndefined(); // the policy-facing scores stay unallocated
      }
    }
    const b = tiered.bytes();
    expect(b.kvFileBytes).toBeGreaterThan(0);
    expect(b.kvDramBytes + b.kvFileBytes).toBe(plain.bytes().kvBytes);
    tiered.close();
  });

  it('scoreEvery: only every n-th attend of a layer adds to the scores', () => {
    const shape = { numLayers: 2, kvHeads: 2, qHeads: 4, headDim: 8 };
    const backend = new NativeBackend(loadAddon()!);
    const tiered = new CacheSession({ ...shape, backend, tier: { coldFraction: 0.5, by: 'score', sinks: 1, recent: 2, scoreEvery: 3, dir } });
    const plain = new CacheSession({ ...shape, backend, gather: { cumulative: true } });
    const want: Float32Array[][] = [[], []];
    for (let t = 0; t < 7; t++) {
      const n = t === 0 ? 12 : 1;
      const start = t === 0 ? 0 : 11 + t;
      for (let l = 0; l < shape.numLayers; l++) {
        const k = randomNormalArray(n * shape.kvHeads * shape.headDim, 3 * t + l);
        const q = randomNormalArray(n * shape.qHeads * shape.headDim, 7 * t + l);
        for (const s of [tiered, plain]) s.append(l, k, k, textMeta(n, start));
        tiered.attend(l, q, Int32Array.from({ length: n }, (_, i) => start + i), new Uint8Array(n));
        plain.attend(l, q, Int32Array.from({ length: n }, (_, i) => start + i), new Uint8Array(n));
        // Attends 1, 4, 7 of each layer score (t = 0, 3, 6): sum their column sums by hand.
        if (t % 3 === 0) {
          plain.lastStats(l)!.cumulative!.forEach((c, h) => {
            const acc = new Float32Array(c.length);
            acc.set(want[l]![h] ?? []);
            c.forEach((x, j) => (acc[j] += x));
            want[l]![h] = acc;
          });
        }
      }
    }
    for (let l = 0; l < shape.numLayers; l++) {
      for (let h = 0; h < shape.kvHeads; h++) expect(worstRatio(tiered.layer(l).tierScores(h)!, want[l]![h]!, 1e-5, 1e-4), `layer ${l} head ${h}`).toBeLessThanOrEqual(1);
    }
    tiered.close();
  });

  it('puts exactly the lowest-scored unprotected slots on file through appends, evictions and merges', () => {
    const { tiered, plain, spec } = pair({ coldFraction: 0.5, by: 'score', sinks: 2, recent: 3 });
    appendTokens([tiered, plain], 0, 30, 1);
    expectConsistent(tiered, plain, spec); // no scores yet: ties, so the oldest unprotected go first
    expect(coldOf(tiered, 0)).toEqual(Array.from({ length: 15 }, (_, i) => i + 2));
    for (let t = 0; t < 12; t++) {
      addScores(tiered, 10 + t);
      appendTokens([tiered, plain], 30 + t, 1 + (t % 3), 20 + t);
      expectConsistent(tiered, plain, spec);
    }
    // Single-token appends with no new scores between them (scoreEvery > 1) take the one-step
    // update: the slot leaving the recent window is ranked against the file's highest.
    for (let t = 0; t < 8; t++) {
      appendTokens([tiered, plain], 54 + t, 1, 60 + t);
      expectConsistent(tiered, plain, spec);
    }
    // The scores reordered the file: it no longer holds the oldest unprotected slots.
    const oldest = Array.from({ length: spec.coldTarget(tiered.length(0)) }, (_, i) => i + 2);
    expect(coldOf(tiered, 0)).not.toEqual(oldest);
    addScores(tiered, 99);
    const rand = mulberry32(5);
    const heads = Array.from({ length: KV_HEADS }, (_, h) => {
      const keep = Int32Array.from(Array.from({ length: tiered.length(h) }, (_, s) => s).filter((s) => s < 2 || rand() < 0.6));
      const dropped = Array.from({ length: tiered.length(h) }, (_, s) => s).filter((s) => !keep.includes(s));
      return { keep, merges: [{ into: keep[3]!, from: dropped.slice(0, 2) }] };
    });
    tiered.apply({ heads });
    plain.apply({ heads });
    expectConsistent(tiered, plain, spec);
    addScores(tiered, 7);
    appendTokens([tiered, plain], 62, 4, 40);
    expectConsistent(tiered, plain, spec);
    const copy = tiered.clone();
    addScores(tiered, 8);
    appendTokens([tiered, plain], 66, 1, 41);
    expectConsistent(tiered, plain, spec);
    expect(copy.length(0)).toBe(tiered.length(0) - 1);
  });

  it('a window keeps that many slots in DRAM; fraction 1 with no protection puts every slot on file', () => {
    const w = pair({ window: 6, by: 'score', sinks: 1, recent: 2 });
    appendTokens([w.tiered, w.plain], 0, 20, 3);
    addScores(w.tiered, 4);
    appendTokens([w.tiered, w.plain], 20, 2, 5);
    expectConsistent(w.tiered, w.plain, w.spec);
    expect(w.tiered.layout().tier!.coldLengths[0]).toBe(16);
    const all = pair({ coldFraction: 1, by: 'score', sinks: 0, recent: 0 });
    appendTokens([all.tiered, all.plain], 0, 9, 6);
    addScores(all.tiered, 7);
    appendTokens([all.tiered, all.plain], 9, 1, 8);
    expectConsistent(all.tiered, all.plain, all.spec);
    expect(all.tiered.bytes().kvFileBytes).toBe(all.tiered.bytes().kvBytes);
  });

  it('refuses bad by / sinks / recent, naming the field', () => {
    expect(() => tierSpec({ coldFraction: 0.5, by: 'newest' as 'age' }, 'cache.tier')).toThrow(/cache\.tier\.by must be "age" or "score"; got newest/);
    expect(() => tierSpec({ coldFraction: 0.5, by: 'score', sinks: -1 }, 'cache.tier')).toThrow(/cache\.tier\.sinks must be an integer ≥ 0; got -1/);
    expect(() => tierSpec({ coldFraction: 0.5, by: 'score', recent: 1.5 }, 'cache.tier')).toThrow(/cache\.tier\.recent must be an integer ≥ 0; got 1\.5/);
    expect(() => tierSpec({ coldFraction: 0.5, recent: 4 }, 'cache.tier')).toThrow(/cache\.tier: sinks, recent and scoreEvery shape the choice by "score"/);
    expect(() => tierSpec({ coldFraction: 0.5, by: 'score', scoreEvery: 0 }, 'cache.tier')).toThrow(/cache\.tier\.scoreEvery must be an integer ≥ 1; got 0/);
    const { tiered } = pair({ coldFraction: 0.5 });
    expect(() => tiered.addTierScores([])).toThrow(/layer 0: addTierScores needs a DRAM–flash tier by score/);
  });
});
