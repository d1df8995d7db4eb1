/**
 * Attention over a DRAM–flash tiered layer (cold slots in the tier file, hot ones in DRAM): the
 * native CPU kernels reading both parts in place against the TS reference over the same cache
 * held untiered, on every ISA this CPU runs × GQA 1, 3, 4 × head dims 7, 16, 63, 64 × lengths
 * 0 / 1 / odd / several KV splits × cold fraction 0, partial, 1 and a window × f32 / f16 / bf16
 * × decode and prefill × every statistic, cold slots chosen by age and by score (random scores
 * before each append and the compaction, so rows sit on file out of slot order). Hot rows sit
 * past hotStart (spilled rows advance it) and heads hold different lengths after a compaction
 * that evicts cold and hot slots alike and merges evicted slots into a kept one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AttendArgs, KVDType } from '../../src/attention/backend.js';
import { loadAddon } from '../../src/attention/native/addon.js';
import { NativeBackend } from '../../src/attention/native/native-backend.js';
import { kernelLayout } from '../../src/attention/native/coded-layout.js';
import { referenceAttend } from '../../src/attention/reference-attention.js';
import { ALL_STAT_NEEDS } from '../../src/attention/stats.js';
import { LayerCache } from '../../src/cache/layer-cache.js';
import { TierFile } from '../../src/cache/tier-file.js';
import { tierSpec, type TierOptions } from '../../src/cache/tier-spec.js';
import { allocTokenMeta } from '../../src/cache/token-meta.js';
import { mulberry32, randomNormalArray } from '../../src/util/random.js';
import { availableIsas, worstRatio } from './fixtures.js';

const addon = loadAddon();
const ATOL = 2e-5;
const RTOL = 1e-3;
const STAT_KEYS = ['cumulative', 'window', 'lastQuery', 'textColumn', 'redistributed', 'flows', 'rowEntropy'] as const;
const dir = mkdtempSync(join(tmpdir(), 'kvprism-tier-parity-'));

interface Case {
  dtype: KVDType;
  tier: TierOptions;
  kvHeads: number;
  group: number;
  headDim: number;
  tokens: number;
  /** Fraction of slots a compaction keeps (1: none). */
  keep: number;
  n: number;
  decode: boolean;
}

/** The same random tokens in a tiered and an untiered cache (appended in three parts, compacted alike). */
function buildPair(c: Case, file: TierFile, seed: number): { tiered: LayerCache; plain: LayerCache } {
  const rand = mulberry32(seed);
  const opts = { layer: 0, kvHeads: c.kvHeads, headDim: c.headDim, groupSize: c.group, dtype: c.dtype, initialCapacity: 2 };
  const tiered = new LayerCache({ ...opts, tier: { spec: tierSpec({ ...c.tier, dir }), file } });
  const plain = new LayerCache(opts);
  const k = randomNormalArray(c.tokens * c.kvHeads * c.headDim, seed);
  const v = randomNormalArray(c.tokens * c.kvHeads * c.headDim, seed + 1);
  const meta = allocTokenMeta(c.tokens);
  for (let t = 0; t < c.tokens; t++) {
    meta.position[t] = t;
    meta.modality[t] = Math.floor(t / 5) % 4;
  }
  const cuts = [0, Math.floor(c.tokens / 3), Math.floor((2 * c.tokens) / 3), c.tokens];
  const part = (a: number, b: number) => Object.fromEntries(Object.entries(meta).map(([key, arr]) => [key, arr.slice(a, b)])) as typeof meta;
  const byScore = c.tier.by === 'score';
  const per = c.kvHeads * c.headDim;
  for (let i = 0; i < 3; i++) {
    // By score: scores before each later append reorder which rows sit on file.
    if (byScore && i > 0) scoreSlots(tiered, rand);
    for (const cache of [tiered, plain]) cache.append(k.slice(cuts[i]! * per, cuts[i + 1]! * per), v.slice(cuts[i]! * per, cuts[i + 1]! * per), part(cuts[i]!, cuts[i + 1]!));
  }
  if (c.keep < 1) {
    if (byScore) scoreSlots(tiered, rand);
    const heads = Array.from({ length: c.kvHeads }, (_, h) => {
      const all = Array.from({ length: tiered.length(h) }, (_, s) => s);
      const keep = Int32Array.from(all.filter(() => rand() < c.keep));
      const dropped = all.filter((s) => !keep.includes(s));
      // A merge into a kept slot (cold or hot) from two evicted ones.
      return keep.length > 0 && dropped.length > 0 ? { keep, merges: [{ into: keep[keep.length >> 1]!, from: dropped.slice(0, 2) }] } : { keep };
    });
    tiered.apply({ heads });
    plain.apply({ heads });
  }
  return { tiered, plain };
}

/** Random column sums (with ties) added to a tier by score's slot scores. */
function scoreSlots(cache: LayerCache, rand: () => number): void {
  cache.addTierScores(Array.from({ length: cache.kvHeads }, (_, h) => Float32Array.from({ length: cache.length(h) }, () => Math.floor(rand() * 6))));
}

function argsFor(cache: LayerCache, c: Case, seed: number): AttendArgs {
  const rand = mulberry32(seed);
  const qHeads = c.kvHeads * c.group;
  const q = Float32Array.from({ length: c.n * qHeads * c.headDim }, () => 3 * (rand() - 0.5));
  const qPositions = Int32Array.from({ length: c.n }, (_, i) => (c.decode ? c.tokens + i : Math.round(((c.tokens + 1) * (i + 1)) / c.n) - 1));
  const qModality = Uint8Array.from({ length: c.n }, () => Math.floor(rand() * 4));
  return { q, n: c.n, qHeads, qPositions, qModality, kv: cache.layout(), scale: 1 / Math.sqrt(c.headDim), needs: { ...ALL_STAT_NEEDS, window: 2 } };
}

function cases(): Case[] {
  const tiers: TierOptions[] = [
    { coldFraction: 0 },
    { coldFraction: 0.5 },
    { coldFraction: 1 },
    { window: 5 },
    { coldFraction: 0, by: 'score' },
    { coldFraction: 0.5, by: 'score', sinks: 2, recent: 3 },
    { coldFraction: 1, by: 'score', sinks: 0, recent: 0 },
    { window: 5, by: 'score', sinks: 1, recent: 2 },
  ];
  const shapes = [
    { kvHeads: 1, group: 1, headDim: 7 },
    { kvHeads: 2, group: 3, headDim: 16 },
    { kvHeads: 3, group: 4, headDim: 63 },
    { kvHeads: 2, group: 4, headDim: 64 },
  ];
  const out: Case[] = [];
  let i = 0;
  for (const tier of tiers) {
    for (const shape of shapes) {
      for (const tokens of [0, 1, 37, 700]) {
        const dtype = (['f32', 'f16', 'bf16'] as const)[i % 3]!;
        const keep = tokens > 1 && i % 2 === 0 ? 0.6 : 1;
        out.push({ ...shape, dtype, tier, tokens, keep, n: 1, decode: true });
        if (tokens > 0 && i % 3 === 0) out.push({ ...shape, dtype, tier, tokens, keep, n: 9, decode: false });
        i++;
      }
    }
  }
  return out;
}

describe.skipIf(!addon)('DRAM–flash tier: native tiered attention vs the TS reference', () => {
  const isas = addon ? availableIsas((isa) => addon.setIsa(isa)) : [];
  const start = addon?.info().isa;
  afterAll(() => {
    if (start) addon!.setIsa(start);
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(isas)('%s: same output and statistics on every case', (isa) => {
    addon!.setIsa(isa);
    const file = TierFile.open(tierSpec({ coldFraction: 0, dir }));
    const native = new NativeBackend(addon!);
    let checked = 0;
    cases().forEach((c, idx) => {
      const { tiered, plain } = buildPair(c, file, 100 + idx);
      const cold = (tiered.layout().tier?.coldLengths ?? new Int32Array()).reduce((a, b) => a + b, 0);
      if (c.tier.coldFraction === 1) expect(cold).toBe(tiered.totalSlots());
      if (c.tier.coldFraction === 0) expect(cold).toBe(0);
      const args = argsFor(tiered, c, 7 + idx);
      const ref = referenceAttend({ ...args, kv: plain.layout() });
      const got = native.attend(args);
      const label = `${JSON.stringify(c)}`;
      expect(worstRatio(got.out, ref.out, ATOL, RTOL), `${label}: out`).toBeLessThanOrEqual(1);
      for (const key of STAT_KEYS) {
        const r = ref.stats[key] as ArrayLike<number>[] | undefined;
        const g = got.stats[key] as ArrayLike<number>[] | undefined;
        expect(g?.length, `${label}: ${key}`).toBe(r?.length);
        r?.forEach((row, h) => expect(worstRatio(g![h]!, row, ATOL, RTOL), `${label}: ${key}[${h}]`).toBeLessThanOrEqual(1));
      }
      // The reference reading the tiered layout itself agrees with its untiered twin exactly.
      expect(Array.from(referenceAttend(args).out)).toEqual(Array.from(ref.out));
      checked++;
    });
    file.close();
    expect(checked).toBe(cases().length);
  });

  it.each([{ coldFraction: 0.5 }, { coldFraction: 0.5, by: 'score', sinks: 1, recent: 2 }] as TierOptions[])('kernels that read DRAM only (CUDA) get the layer as a dense copy in slot order (%o)', (tier) => {
    const file = TierFile.open(tierSpec({ coldFraction: 0.5, dir }));
    const c: Case = { dtype: 'bf16', tier, kvHeads: 2, group: 2, headDim: 6, tokens: 41, keep: 0.7, n: 1, decode: true };
    const { tiered, plain } = buildPair(c, file, 9);
    const dense = kernelLayout(tiered.layout(), false);
    expect(dense.tier).toBeUndefined();
    const want = plain.layout();
    for (let h = 0; h < c.kvHeads; h++) {
      const a = h * want.capacity * c.headDim;
      const b = a + want.lengths[h]! * c.headDim;
      expect(Array.from(dense.keys.subarray(a, b))).toEqual(Array.from(want.keys.subarray(a, b)));
      expect(Array.from(dense.values.subarray(a, b))).toEqual(Array.from(want.values.subarray(a, b)));
    }
    expect(kernelLayout(tiered.layout(), true).tier).toBeDefined(); // the CPU kernels read it in place
    file.close();
  });

  it('the binding refuses a tier whose cold lengths or hot rows do not fit, naming the field', () => {
    const file = TierFile.open(tierSpec({ coldFraction: 0.5, dir }));
    const { tiered } = buildPair({ dtype: 'f32', tier: { coldFraction: 0.5 }, kvHeads: 2, group: 1, headDim: 8, tokens: 20, keep: 1, n: 1, decode: true }, file, 3);
    const args = argsFor(tiered, { dtype: 'f32', tier: { coldFraction: 0.5 }, kvHeads: 2, group: 1, headDim: 8, tokens: 20, keep: 1, n: 1, decode: true }, 4);
    const tier = args.kv.tier!;
    const native = new NativeBackend(addon!);
    expect(() => native.attend({ ...args, kv: { ...args.kv, tier: { ...tier, coldLengths: Int32Array.from([21, 0]) } } })).toThrow(/args\.kv\.tier\.coldLengths\[0\] = 21/);
    expect(() => native.attend({ ...args, kv: { ...args.kv, tier: { ...tier, hotStart: Int32Array.from([0, tier.hotCapacity]) } } })).toThrow(/args\.kv\.tier\.hotStart\[1\].*hotCapacity/);
    expect(() => native.attend({ ...args, kv: { ...args.kv, tier: { ...tier, coldKeys: new Float32Array(3) } } })).toThrow(/args\.kv\.tier\.coldKeys.*expected/);
    expect(() => referenceAttend({ ...args, kv: { ...args.kv, tier: { ...tier, coldLengths: Int32Array.from([21, 0]) } } })).toThrow(/coldLengths\[0\] = 21/);
    file.close();
  });
});
