/**
 * Exact bytes, keep/compact and merges over quantized storage: compaction moves codes and
 * scales without re-quantizing (decoded survivors are bit-identical), KIVI key groups shrink
 * or vanish, residual windows empty / partial / full; merges re-encode the surviving slot
 * within the documented bounds.
 */
import { describe, expect, it } from 'vitest';
import type { HeadPlan } from '../../src/cache/policy-api.js';
import { codeRowBytes, storageSpec } from '../../src/cache/storage-spec.js';
import { textMeta } from '../../src/cache/token-meta.js';
import { filledCache } from './storage-fixtures.js';

const KVH = 2;
const D = 11;

describe('exact bytes', () => {
  it('int8-fp8: 2·d code bytes + 12 bytes per channel group, per token and head', () => {
    const { cache } = filledCache({ kind: 'int8-fp8', group: 4 }, 9, KVH, D);
    // d = 11, G = 4: 3 channel groups → 22 + 36 = 58 bytes per token per head.
    expect(cache.bytes().kvBytes).toBe(9 * KVH * 58);
    expect(cache.bytes().kvAllocatedBytes).toBeGreaterThanOrEqual(9 * KVH * 58);
  });
  it('int2 G=4 R=3: codes, per-group key scales, per-token value scales, f32 residual', () => {
    const { cache } = filledCache({ kind: 'int2', group: 4, residual: 3 }, 20, KVH, D);
    // 16 coded tokens (4 groups), 4 residual. Row = ⌈22/8⌉ = 3 bytes; 3 value channel groups.
    const perHead = 16 * (2 * 3 + 3 * 8) + 4 * D * 8 + 4 * D * 8;
    expect(cache.bytes().kvBytes).toBe(KVH * perHead);
  });
  it('float kinds: len × d × element bytes × 2', () => {
    expect(filledCache('f16', 7, KVH, D).cache.bytes().kvBytes).toBe(7 * KVH * D * 2 * 2);
    expect(filledCache('f32', 7, KVH, D).cache.bytes().kvBytes).toBe(7 * KVH * D * 4 * 2);
  });
  it('a quantized cache is smaller than f16 at the same length', () => {
    const f16 = filledCache('f16', 64, KVH, 64).cache.bytes().kvBytes;
    expect(filledCache({ kind: 'int8-fp8', group: 32 }, 64, KVH, 64).cache.bytes().kvBytes).toBeLessThan(0.6 * f16);
    expect(filledCache({ kind: 'int4', group: 32, residual: 0 }, 64, KVH, 64).cache.bytes().kvBytes).toBeLessThan(0.4 * f16);
  });
});

const keepAll = (len: number, drop: number[]) => Int32Array.from(Array.from({ length: len }, (_, i) => i).filter((i) => !drop.includes(i)));

describe.each([
  { label: 'int8-fp8', storage: { kind: 'int8-fp8' as const, group: 4 }, n: 10 },
  { label: 'int4, residual empty (R=0, 12 coded)', storage: { kind: 'int4' as const, group: 4, residual: 0 }, n: 12 },
  { label: 'int4, residual partial (R=3: 4 coded + 4)', storage: { kind: 'int4' as const, group: 4, residual: 3 }, n: 8 },
  { label: 'int2, residual full (R=3: 4 coded + 6 = R+G−1)', storage: { kind: 'int2' as const, group: 4, residual: 3 }, n: 10 },
])('keep/compact over $label', ({ storage, n }) => {
  it('survivors decode bit-identically and bytes follow the surviving codes', () => {
    const { cache } = filledCache(storage, n, KVH, D);
    const before = [0, 1].map((h) => ({ k: cache.view().keys(h).slice(), v: cache.view().values(h).slice() }));
    // Head 0 drops a whole first key group (0..3) and two later slots; head 1 drops one slot.
    const keeps = [keepAll(n, [0, 1, 2, 3, 5, n - 1]), keepAll(n, [6])];
    cache.apply({ heads: keeps.map((keep): HeadPlan => ({ keep })) });
    keeps.forEach((keep, h) => {
      const k = cache.view().keys(h);
      const v = cache.view().values(h);
      expect(cache.length(h)).toBe(keep.length);
      keep.forEach((s, r) => {
        expect(Array.from(k.subarray(r * D, (r + 1) * D))).toEqual(Array.from(before[h]!.k.subarray(s * D, (s + 1) * D)));
        expect(Array.from(v.subarray(r * D, (r + 1) * D))).toEqual(Array.from(before[h]!.v.subarray(s * D, (s + 1) * D)));
      });
    });
    const spec = storageSpec(storage, D);
    const expected = keeps.reduce((sum, keep) => {
      if (spec.kind === 'int8-fp8') return sum + spec.bytes({ coded: keep.length, keyGroups: 0, dense: 0 });
      const coded = Math.floor(Math.max(0, n - spec.residual) / spec.group) * spec.group;
      const codedKept = keep.filter((s) => s < coded).length;
      const groups = new Set(Array.from(keep.filter((s) => s < coded), (s) => Math.floor(s / spec.group))).size;
      return sum + codedKept * (2 * codeRowBytes(D, spec.bits) + 3 * 8) + groups * D * 8 + (keep.length - codedKept) * D * 8;
    }, 0);
    expect(cache.bytes().kvBytes).toBe(expected);
  });

  it('keeps appending after compaction (codes keep their slots)', () => {
    const { cache } = filledCache(storage, n, KVH, D);
    cache.apply({ heads: [keepAll(n, [2]), keepAll(n, [])].map((keep) => ({ keep })) });
    const more = filledCache(storage, 9, KVH, D, 7);
    const k0 = cache.view().keys(0).slice(0, 4 * D);
    const { k, v } = { k: more.cache.view().keys(0), v: more.cache.view().values(0) };
    // Re-use the second cache's decoded rows as fresh f32 input for both heads.
    const tok = new Float32Array(9 * KVH * D);
    const val = new Float32Array(9 * KVH * D);
    for (let t = 0; t < 9; t++) for (let h = 0; h < KVH; h++) {
      tok.set(k.subarray(t * D, (t + 1) * D), (t * KVH + h) * D);
      val.set(v.subarray(t * D, (t + 1) * D), (t * KVH + h) * D);
    }
    cache.append(tok, val, textMeta(9, 100));
    expect(cache.length(0)).toBe(n - 1 + 9);
    expect(cache.length(1)).toBe(n + 9);
    // Slots 0..3 were coded before the append (int8-fp8: always; KIVI R=0: whole groups) and stay put.
    if (storage.kind === 'int8-fp8' || storage.residual === 0) expect(Array.from(cache.view().keys(0).subarray(0, 4 * D))).toEqual(Array.from(k0));
  });
});

describe('merges re-encode the surviving slot', () => {
  /** Pre-plan weighted mean of slots `into` and `from` of head h (weights 1). */
  const mean = (x: Float32Array, a: number, b: number) => Float32Array.from({ length: D }, (_, c) => (x[a * D + c]! + x[b * D + c]!) / 2);
  const stepOf = (row: ArrayLike<number>, c0: number, w: number, levels: number) => {
    let lo = Infinity;
    let hi = -Infinity;
    for (let c = c0; c < c0 + w; c++) {
      lo = Math.min(lo, row[c]!);
      hi = Math.max(hi, row[c]!);
    }
    return (hi - lo) / levels;
  };

  it.each([
    { kind: 'int8-fp8' as const, levels: 255, storage: { kind: 'int8-fp8' as const, group: 4 } },
    { kind: 'int4' as const, levels: 15, storage: { kind: 'int4' as const, group: 4, residual: 2 } },
  ])('$kind: a coded slot merged from another lands within half a step of the mean', ({ kind, levels, storage }) => {
    const n = 12;
    const { cache } = filledCache(storage, n, KVH, D);
    const k = cache.view().keys(0).slice();
    const v = cache.view().values(0).slice();
    // Merge slot 2 into slot 1 (both coded for int4: coded = 8 with G=4, R=2).
    cache.apply({ heads: [{ keep: keepAll(n, [2]), merges: [{ into: 1, from: [2] }] }, { keep: keepAll(n, []) }] });
    const wantK = mean(k, 1, 2);
    const wantV = mean(v, 1, 2);
    const gotK = cache.view().keys(0);
    const gotV = cache.view().values(0);
    expect(cache.view().meta(0).weight[1]).toBe(2);
    for (let c = 0; c < D; c++) {
      const c0 = Math.floor(c / 4) * 4;
      const w = Math.min(4, D - c0);
      const vBound = kind === 'int8-fp8' ? 2 ** -4 * Math.abs(wantV[c]!) + 1e-4 : stepOf(wantV, c0, w, levels) / 2 + 1e-5;
      expect(Math.abs(gotV[1 * D + c]! - wantV[c]!)).toBeLessThanOrEqual(vBound);
      if (kind === 'int8-fp8') {
        expect(Math.abs(gotK[1 * D + c]! - wantK[c]!)).toBeLessThanOrEqual(stepOf(wantK, c0, w, levels) / 2 + 1e-5);
      } else {
        // Key group 0 (slots 0..3 before, 0,1,3 → new slots 0,1,2) is re-encoded from its decoded rows with the merged one.
        const rows = [k.subarray(0, D), wantK, k.subarray(3 * D, 4 * D)];
        rows.forEach((row, r) => {
          const col = rows.map((x) => x[c]!);
          const step = (Math.max(...col) - Math.min(...col)) / levels;
          expect(Math.abs(gotK[r * D + c]! - row[c]!)).toBeLessThanOrEqual(step / 2 + 1e-5);
        });
      }
    }
  });

  it('int2: a merge into a residual slot is stored exactly in f32', () => {
    const n = 9;
    const { cache } = filledCache({ kind: 'int2', group: 4, residual: 3 }, n, KVH, D);
    const k = cache.view().keys(1).slice();
    cache.apply({ heads: [{ keep: keepAll(n, []) }, { keep: keepAll(n, [8]), merges: [{ into: 7, from: [8] }] }] });
    expect(Array.from(cache.view().keys(1).subarray(7 * D, 8 * D))).toEqual(Array.from(Float32Array.from(mean(k, 7, 8))));
  });
});

describe('clone', () => {
  it.each(['int8-fp8', 'int4', 'int2'] as const)('%s: a clone keeps its codes when the original compacts and grows', (kind) => {
    const storage = kind === 'int8-fp8' ? { kind, group: 4 } : { kind, group: 4, residual: 2 };
    const { cache } = filledCache(storage, 13, KVH, D);
    const copy = cache.clone();
    const before = copy.view().keys(1).slice();
    const bytes = copy.bytes().kvBytes;
    cache.apply({ heads: [{ keep: keepAll(13, [0, 4]) }, { keep: keepAll(13, [1, 2, 3]) }] });
    cache.append(new Float32Array(KVH * D).fill(3), new Float32Array(KVH * D).fill(-3), textMeta(1, 50));
    expect(Array.from(copy.view().keys(1))).toEqual(Array.from(before));
    expect(copy.bytes().kvBytes).toBe(bytes);
    expect(cache.bytes().kvBytes).not.toBe(bytes);
  });
});
