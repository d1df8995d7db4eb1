/**
 * The native CPU kernels reading quantized storage (int8-fp8, KIVI int4 / int2) as codes
 * against the TS reference on the same LayerCache: every ISA this CPU runs × GQA 1, 3, 4, 7 ×
 * head dims 7, 16, 63, 64, 128 × group sizes that fill whole vectors (16, 32, the bench's 64) and that do not
 * (3, 5) × lengths 0 / 1 / odd / several KV splits × KIVI residual windows empty, partial and
 * whole × budgets after compaction (KIVI key groups shortened or gone) × decode and prefill ×
 * all statistics. Both sides read the same codes, so the tolerance is the float one
 * (2e-5 + 1e-3·|reference|), not a quantization error. Then the binding's checks.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ALL_STAT_NEEDS, type AttentionStats } from '../../src/attention/stats.js';
import { referenceAttend } from '../../src/attention/reference-attention.js';
import type { AttendArgs } from '../../src/attention/backend.js';
import { loadAddon } from '../../src/attention/native/addon.js';
import { NativeBackend } from '../../src/attention/native/native-backend.js';
import { kernelLayout } from '../../src/attention/native/coded-layout.js';
import { LayerCache } from '../../src/cache/layer-cache.js';
import type { KVStorage } from '../../src/cache/storage-spec.js';
import { allocTokenMeta } from '../../src/cache/token-meta.js';
import { mulberry32, randomNormalArray } from '../../src/util/random.js';
import { availableIsas, worstRatio } from './fixtures.js';

const addon = loadAddon();
const ATOL = 2e-5;
const RTOL = 1e-3;
const STAT_KEYS = ['cumulative', 'window', 'lastQuery', 'textColumn', 'redistributed', 'flows', 'rowEntropy'] as const;

interface Case {
  storage: KVStorage;
  kvHeads: number;
  group: number;
  headDim: number;
  tokens: number;
  /** Fraction of each head's slots kept by a random compaction (1: none). */
  keep: number;
  n: number;
  decode: boolean;
}

/** A cache of `tokens` random tokens (mixed modalities), compacted per head to a random subset. */
function buildCache(c: Case, seed: number): LayerCache {
  const rand = mulberry32(seed);
  const cache = new LayerCache({ layer: 0, kvHeads: c.kvHeads, headDim: c.headDim, groupSize: c.group, storage: c.storage, initialCapacity: 4 });
  const k = randomNormalArray(c.tokens * c.kvHeads * c.headDim, seed);
  const v = randomNormalArray(c.tokens * c.kvHeads * c.headDim, seed + 1);
  const meta = allocTokenMeta(c.tokens);
  for (let t = 0; t < c.tokens; t++) {
    meta.position[t] = t;
    meta.modality[t] = Math.floor(t / 7) % 4;
  }
  // Two appends: tokens arrive in bulk and after KIVI's first groups were coded.
  const m = Math.floor(c.tokens / 2);
  const rows = (a: Float32Array, from: number, to: number) => a.slice(from * c.kvHeads * c.headDim, to * c.kvHeads * c.headDim);
  const part = (from: number, to: number) => Object.fromEntries(Object.entries(meta).map(([key, arr]) => [key, arr.slice(from, to)])) as typeof meta;
  cache.append(rows(k, 0, m), rows(v, 0, m), part(0, m));
  cache.append(rows(k, m, c.tokens), rows(v, m, c.tokens), part(m, c.tokens));
  if (c.keep < 1) {
    const heads = Array.from({ length: c.kvHeads }, (_, h) => {
      const len = cache.length(h);
      const kept = Array.from({ length: len }, (_, s) => s).filter(() => rand() < c.keep);
      return { keep: Int32Array.from(kept) };
    });
    cache.apply({ heads });
  }
  return cache;
}

function argsFor(cache: LayerCache, c: Case, seed: number): AttendArgs {
  const rand = mulberry32(seed);
  const qHeads = c.kvHeads * c.group;
  const q = Float32Array.from({ length: c.n * qHeads * c.headDim }, () => 3 * (rand() - 0.5));
  // Decode: after every cached token. Prefill: a causal staircase through the cache.
  const qPositions = Int32Array.from({ length: c.n }, (_, i) => (c.decode ? c.tokens + i : Math.round(((c.tokens + 1) * (i + 1)) / c.n) - 1));
  const qModality = Uint8Array.from({ length: c.n }, () => Math.floor(rand() * 4));
  const needs = { ...ALL_STAT_NEEDS, window: 1 + (seed % 3) };
  return { q, n: c.n, qHeads, qPositions, qModality, kv: cache.layout(true), scale: 1 / Math.sqrt(c.headDim), needs };
}

function cases(): Case[] {
  const storages: KVStorage[] = [
    { kind: 'int8-fp8', group: 32 },
    { kind: 'int4', group: 16, residual: 5 },
    { kind: 'int2', group: 3, residual: 0 },
    { kind: 'int8-fp8', group: 5 },
    { kind: 'int4', group: 32, residual: 0 },
    { kind: 'int2', group: 16, residual: 40 },
  ];
  const out: Case[] = [];
  let k = 0;
  for (const headDim of [7, 16, 63, 64, 128]) {
    for (const group of [1, 3, 4, 7]) {
      const tokens = [0, 1, 37, 120, 9][k % 5]!;
      out.push({ storage: storages[k % storages.length]!, kvHeads: 1 + (k % 3), group, headDim, tokens, keep: k % 3 === 2 ? 0.6 : 1, n: k % 2 ? 1 + (k % 9) : 1, decode: k % 2 === 0 });
      k++;
    }
  }
  // Long caches: several KV splits per head, KIVI groups across 256-slot block edges.
  out.push({ storage: { kind: 'int8-fp8', group: 32 }, kvHeads: 2, group: 4, headDim: 128, tokens: 1500, keep: 1, n: 1, decode: true });
  out.push({ storage: { kind: 'int4', group: 32, residual: 128 }, kvHeads: 2, group: 4, headDim: 128, tokens: 1400, keep: 0.7, n: 1, decode: true });
  out.push({ storage: { kind: 'int2', group: 32, residual: 64 }, kvHeads: 1, group: 7, headDim: 64, tokens: 1100, keep: 1, n: 5, decode: false });
  // The kernel bench's G = 64 (bench/kernels.ts) at its head dim.
  out.push({ storage: { kind: 'int8-fp8', group: 64 }, kvHeads: 2, group: 4, headDim: 128, tokens: 700, keep: 1, n: 1, decode: true });
  out.push({ storage: { kind: 'int4', group: 64, residual: 128 }, kvHeads: 2, group: 4, headDim: 128, tokens: 900, keep: 0.7, n: 1, decode: true });
  out.push({ storage: { kind: 'int2', group: 64, residual: 128 }, kvHeads: 1, group: 4, headDim: 128, tokens: 800, keep: 1, n: 1, decode: true });
  return out;
}

function compareStats(a: AttentionStats, b: AttentionStats, label: string): void {
  for (const key of STAT_KEYS) {
    const x = a[key];
    const y = b[key];
    expect(x === undefined, `${label} stat ${key} presence`).toBe(y === undefined);
    if (!x || !y) continue;
    for (let h = 0; h < x.length; h++) expect(worstRatio(x[h]!, y[h]!, ATOL * 10, RTOL), `${label} ${key}[${h}]`).toBeLessThanOrEqual(1);
  }
}

describe.skipIf(!addon)('native attention over codes matches the TS reference', () => {
  const isas = availableIsas((isa) => addon!.setIsa(isa));
  afterAll(() => addon!.setIsa(isas[isas.length - 1]!));
  const problems = cases().map((c, idx) => {
    const cache = buildCache(c, 300 + idx);
    const args = argsFor(cache, c, 700 + idx);
    return { c, args, want: referenceAttend(args) };
  });

  it('the native CPU backend reads codes; CUDA gets a decoded copy', () => {
    expect(new NativeBackend(addon!, 'cpu').readsCoded).toBe(true);
    expect(new NativeBackend(addon!, 'cuda').readsCoded).toBe(false);
    const coded = kernelLayout(problems[2]!.args.kv, true);
    expect(coded.coded?.heads.length).toBe(problems[2]!.args.kv.kvHeads);
    const decoded = kernelLayout(problems[2]!.args.kv, false);
    expect(decoded.coded).toBeUndefined();
    expect(decoded.keys.length).toBe(problems[2]!.args.kv.kvHeads * problems[2]!.args.kv.capacity * problems[2]!.args.kv.headDim);
  });

  for (const isa of isas) {
    it(`${isa}: ${problems.length} caches, outputs and statistics`, () => {
      addon!.setIsa(isa);
      const cpu = new NativeBackend(addon!, 'cpu');
      problems.forEach(({ c, args, want }, idx) => {
        const label = `${isa} #${idx} ${JSON.stringify(c)} lengths ${Array.from(args.kv.lengths)}`;
        const got = cpu.attend(args);
        expect(worstRatio(got.out, want.out, ATOL, RTOL), `${label} out`).toBeLessThanOrEqual(1);
        compareStats(got.stats, want.stats, label);
      });
    });
  }

  it('reading the codes gives what the decoded f32 copy gives', () => {
    const { args } = problems[problems.length - 2]!;
    const viaCodes = addon!.attend({ ...args, kv: kernelLayout(args.kv, true) });
    const viaCopy = addon!.attend({ ...args, kv: kernelLayout(args.kv, false) });
    expect(worstRatio(viaCodes.out, viaCopy.out, ATOL, RTOL)).toBeLessThanOrEqual(1);
  });
});

describe.skipIf(!addon)('the binding rejects bad coded layouts with clear errors', () => {
  const c: Case = { storage: { kind: 'int4', group: 4, residual: 3 }, kvHeads: 2, group: 2, headDim: 8, tokens: 20, keep: 1, n: 1, decode: true };
  const args = argsFor(buildCache(c, 5), c, 6);
  const raw = kernelLayout(args.kv, true);
  const heads = raw.coded!.heads;
  const attendWith = (coded: unknown) => () => addon!.attend({ ...args, kv: { ...raw, coded: coded as typeof raw.coded } });

  it('a valid layout runs', () => {
    expect(attendWith(raw.coded)).not.toThrow();
  });
  it('group out of range', () => {
    expect(attendWith({ ...raw.coded, group: 0 })).toThrow(/args\.kv\.coded\.group \(G\) must be an integer in \[1, 1024\]/);
    expect(attendWith({ ...raw.coded, group: 2000 })).toThrow(/group \(G\)/);
  });
  it('unknown storage kind', () => {
    expect(attendWith({ ...raw.coded, storage: 'int3' })).toThrow(/args\.kv\.coded\.storage must be 'int8-fp8', 'int4' or 'int2'; got 'int3'/);
  });
  it('wrong number of heads', () => {
    expect(attendWith({ ...raw.coded, heads: heads.slice(0, 1) })).toThrow(/heads has 1 entries; expected kvHeads = 2/);
  });
  it('an array too short for the head, or of the wrong type', () => {
    const short = [{ ...heads[0]!, keyCodes: heads[0]!.keyCodes.subarray(0, 3) }, heads[1]!];
    expect(attendWith({ ...raw.coded, heads: short })).toThrow(/heads\[0\]\.keyCodes has 3 elements; the head's slots need at least/);
    const wrongType = [{ ...heads[0]!, keyScaleMin: new Float64Array(heads[0]!.keyScaleMin.length) }, heads[1]!];
    expect(attendWith({ ...raw.coded, heads: wrongType })).toThrow(/heads\[0\]\.keyScaleMin must be a Float32Array/);
  });
  it('coded count or key groups outside the head', () => {
    expect(attendWith({ ...raw.coded, heads: [{ ...heads[0]!, coded: 999 }, heads[1]!] })).toThrow(/heads\[0\]\.coded must be an integer in \[0, 20\]/);
    expect(attendWith({ ...raw.coded, heads: [{ ...heads[0]!, keyGroups: -1 }, heads[1]!] })).toThrow(/heads\[0\]\.keyGroups/);
  });
  it('key groups that do not tile the coded slots (checked by the C ABI)', () => {
    const groupLen = heads[0]!.groupLen!.slice();
    groupLen[0] = 1;
    expect(attendWith({ ...raw.coded, heads: [{ ...heads[0]!, groupLen }, heads[1]!] })).toThrow(/kv\.coded\[0\]: the key groups hold \d+ slots; coded = 16/);
    groupLen[0] = 9;
    expect(attendWith({ ...raw.coded, heads: [{ ...heads[0]!, groupLen }, heads[1]!] })).toThrow(/kv\.coded\[0\]\.group_len\[0\] = 9 is outside \[1, G = 4\]/);
  });
  it('CUDA attention refuses codes by name', () => {
    expect(() => addon!.attendCuda({ ...args, kv: raw })).toThrow(/attendCuda/);
  });
  it('a KVLayout still carrying its CodedKV object is refused', () => {
    expect(() => addon!.attend(args)).toThrow(/args\.kv\.coded/);
  });
});
