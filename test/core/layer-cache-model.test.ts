/**
 * Randomised check of LayerCache against a naive model (rows as plain arrays): cycles of
 * append → random plan (keep, merges of every flavour, retain) → apply → optional shrink, then
 * the cache's contents and its attention must match the model's.
 */
import { describe, expect, it } from 'vitest';
import { LayerCache } from '../../src/cache/layer-cache.js';
import { textMeta } from '../../src/cache/token-meta.js';
import { referenceAttend } from '../../src/attention/reference-attention.js';
import type { HeadPlan, MergeOp } from '../../src/cache/policy-api.js';
import { mulberry32, randomInt, randomNormalArray } from '../../src/util/random.js';
import { RecordingStore } from './fixtures.js';

interface Slot {
  k: number[];
  v: number[];
  pos: number;
  w: number;
}

function modelApply(slots: Slot[], hp: HeadPlan): Slot[] {
  const next = new Map<number, Slot>();
  const groups = new Map<number, MergeOp[]>();
  for (const m of hp.merges ?? []) groups.set(m.into, [...(groups.get(m.into) ?? []), m]);
  for (const [t, ops] of groups) {
    const norm = ops[0]!.normalize !== false;
    const self = ops[0]!.selfCoef ?? (norm ? slots[t]!.w : 1);
    const k = slots[t]!.k.map((x) => self * x);
    const v = slots[t]!.v.map((x) => self * x);
    let dk = self;
    let dv = self;
    let w = slots[t]!.w;
    for (const op of ops) {
      Array.from(op.from).forEach((s, i) => {
        const c = op.coef ? op.coef[i]! : norm ? slots[s]!.w : 1;
        slots[s]!.v.forEach((x, d) => (v[d]! += c * x));
        dv += c;
        if (op.target !== 'v') {
          slots[s]!.k.forEach((x, d) => (k[d]! += c * x));
          dk += c;
        }
        if (norm) w += slots[s]!.w;
      });
    }
    const touchK = ops.some((o) => o.target !== 'v');
    next.set(t, { k: touchK ? k.map((x) => (norm ? x / dk : x)) : slots[t]!.k, v: v.map((x) => (norm ? x / dv : x)), pos: slots[t]!.pos, w });
  }
  return Array.from(hp.keep, (s) => next.get(s) ?? slots[s]!);
}

function randomPlan(len: number, rand: () => number): HeadPlan {
  const keepSet = new Set<number>();
  const want = randomInt(rand, 0, len);
  while (keepSet.size < want) keepSet.add(randomInt(rand, 0, len - 1));
  const keep = Int32Array.from([...keepSet].sort((a, b) => a - b));
  const dropped = Array.from({ length: len }, (_, i) => i).filter((i) => !keepSet.has(i));
  const merges: MergeOp[] = [];
  const retain: number[] = [];
  if (keep.length > 0) {
    const flavour = randomInt(rand, 0, 3);
    for (const s of dropped) {
      const r = rand();
      if (r < 0.5) {
        const into = keep[randomInt(rand, 0, keep.length - 1)]!;
        const op: MergeOp = flavour === 3 ? { into, from: [s], coef: [rand()], normalize: false } : { into, from: [s] };
        if (flavour === 1) op.target = 'v';
        if (flavour === 2) op.coef = [0.5 + rand()];
        merges.push(op);
      } else if (r < 0.75) retain.push(s);
    }
    // Merges into one slot must agree on selfCoef: set it per target when explicit coefs are used.
    if (flavour === 2) for (const m of merges) m.selfCoef = 1 + (m.into % 3);
  }
  return { keep, merges, retain: Int32Array.from(retain) };
}

describe('LayerCache matches a naive model over random append/apply cycles', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`seed ${seed}`, () => {
      const rand = mulberry32(seed);
      const kvHeads = randomInt(rand, 1, 3);
      const d = randomInt(rand, 1, 9);
      const cache = new LayerCache({ layer: 0, kvHeads, headDim: d, initialCapacity: randomInt(rand, 0, 4) });
      const model: Slot[][] = Array.from({ length: kvHeads }, () => []);
      const store = new RecordingStore();
      let pos = 0;
      for (let cycle = 0; cycle < 6; cycle++) {
        const n = randomInt(rand, 0, 12);
        const k = randomNormalArray(n * kvHeads * d, seed * 100 + cycle);
        const v = randomNormalArray(n * kvHeads * d, seed * 100 + cycle + 50);
        cache.append(k, v, textMeta(n, pos));
        for (let t = 0; t < n; t++)
          for (let h = 0; h < kvHeads; h++) {
            const o = (t * kvHeads + h) * d;
            model[h]!.push({ k: Array.from(k.subarray(o, o + d)), v: Array.from(v.subarray(o, o + d)), pos: pos + t, w: 1 });
          }
        pos += n;
        const plan = model.map((slots) => randomPlan(slots.length, rand));
        const absorbedBefore = store.absorbed.length;
        cache.apply({ heads: plan }, store);
        plan.forEach((hp, h) => (model[h] = modelApply(model[h]!, hp)));
        expect(store.absorbed.length - absorbedBefore).toBe(plan.filter((hp) => hp.retain!.length > 0).length);
        if (rand() < 0.5) cache.shrinkToFit(randomInt(rand, 0, 2));
        for (let h = 0; h < kvHeads; h++) {
          const slots = model[h]!;
          expect(cache.length(h)).toBe(slots.length);
          const view = cache.view();
          const keys = view.keys(h);
          const vals = view.values(h);
          slots.forEach((s, r) => {
            expect(view.meta(h).position[r]).toBe(s.pos);
            expect(view.meta(h).weight[r]).toBeCloseTo(s.w, 5);
            s.k.forEach((x, i) => expect(keys[r * d + i]).toBeCloseTo(x, 5));
            s.v.forEach((x, i) => expect(vals[r * d + i]).toBeCloseTo(x, 5));
          });
        }
        const bytes = cache.bytes();
        expect(bytes.slots).toBe(model.reduce((a, m) => a + m.length, 0));
        expect(bytes.kvBytes).toBe(bytes.slots * d * 4 * 2);
      }
      // Attention over the compacted cache equals attention over the model's rows.
      const q = randomNormalArray(2 * kvHeads * d, seed);
      const qPositions = Int32Array.of(pos, pos + 1);
      const got = referenceAttend({ q, n: 2, qHeads: kvHeads, qPositions, kv: cache.layout(), scale: 0.5, needs: {} }).out;
      for (let h = 0; h < kvHeads; h++) {
        const slots = model[h]!;
        const qo = h * d;
        const logits = slots.map((s) => 0.5 * s.k.reduce((a, x, i) => a + x * q[qo + i]!, 0));
        const m = Math.max(...logits);
        const e = logits.map((x) => Math.exp(x - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let i = 0; i < d; i++) {
          const want = slots.length ? slots.reduce((a, s, j) => a + (e[j]! / z) * s.v[i]!, 0) : 0;
          expect(got[qo + i]).toBeCloseTo(want, 4);
        }
      }
    });
  }
});
