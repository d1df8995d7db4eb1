import { describe, expect, it } from 'vitest';
import { tsBackend } from '../../src/attention/ts-backend.js';
import { policies } from '../../src/policies/catalog.js';
import { accKVFocus, accKVOptions, planAccKV, type AccKVInstance, type AccKVOptions } from '../../src/policies/multimodal/acckv.js';
import { buildLayer, causalFromWeights, context, cosine, randomRows, A, I, T, V } from './layer-fixture.js';

const opts = (o: Partial<AccKVOptions> = {}): AccKVOptions => accKVOptions.parse(o);

describe('AccKV attention redistribution (A-R)', () => {
  it('uniform causal attention gives equal redistributed scores; H2O sums strictly decrease (Appendix B.1)', () => {
    const n = 8;
    const d = 4;
    const res = tsBackend.attend({
      q: new Float32Array(n * d), // zero queries: every visible slot gets the same logit
      n,
      qHeads: 1,
      qPositions: Int32Array.from({ length: n }, (_, i) => i),
      qModality: new Uint8Array(n),
      kv: { kvHeads: 1, headDim: d, capacity: n, dtype: 'f32', keys: randomRows(n, d, 1), values: randomRows(n, d, 2), lengths: Int32Array.of(n), positions: Int32Array.from({ length: n }, (_, i) => i), modality: new Uint8Array(n) },
      scale: 0.5,
      needs: { redistributed: true, cumulative: true },
    });
    const s = res.stats.redistributed![0]!;
    for (let j = 0; j < n; j++) expect(s[j]).toBeCloseTo(1, 6);
    const c = res.stats.cumulative![0]!;
    for (let j = 1; j < n; j++) expect(c[j]!).toBeLessThan(c[j - 1]!);
  });

  it('keeps a late, above-uniform media slot that accumulated attention (the ablation) misses', () => {
    // 2 text, 8 video, 2 text (question). Uniform attention except that the question tokens
    // favour video slot 8 three-fold; early video slots win H2O sums only by being early.
    const modality = [T, T, V, V, V, V, V, V, V, V, T, T];
    const n = modality.length;
    const att = causalFromWeights(n, (i, j) => (j === 8 && i >= 10 ? 3 : 1));
    const { view, stats } = buildLayer({ headDim: 4, modality, heads: [{ keys: randomRows(n, 4, 5), attention: att }] });
    const ctx = context(view, stats, { budget: 5 }); // 4 text + 1 media
    const on = planAccKV(ctx, opts({ intraMerge: false, crossCalibration: false }))!;
    const off = planAccKV(ctx, opts({ redistribution: false, intraMerge: false, crossCalibration: false }))!;
    expect(Array.from(on.heads[0]!.keep)).toEqual([0, 1, 8, 10, 11]);
    expect(Array.from(off.heads[0]!.keep)).toEqual([0, 1, 2, 10, 11]);
  });
});

describe('AccKV layer-adaptive focusing (A-F)', () => {
  /** 6 video, 4 audio, 3 text question tokens; text attends video with weight wv and audio with wa. */
  function avLayer(wv: number, wa: number, layer = 0) {
    const modality = [V, V, V, V, V, V, A, A, A, A, T, T, T];
    const n = modality.length;
    const att = causalFromWeights(n, (i, j) => (modality[i] !== T ? 1 : modality[j] === V ? wv : modality[j] === A ? wa : 1));
    return { ...buildLayer({ layer, headDim: 4, modality, heads: [{ keys: randomRows(n, 4, 9), attention: att }] }), att, modality };
  }

  it('W_m is the mean text→slot attention of modality m, normalised over the media present', () => {
    const { view, stats, att, modality } = avLayer(2, 1);
    const f = accKVFocus(context(view, stats, { budget: 6 }), opts(), 0);
    const mean = (m: number) => {
      const js = modality.flatMap((x, j) => (x === m ? [j] : []));
      return js.reduce((s, j) => s + att.reduce((t, row, i) => t + (modality[i] === T ? row[j]! : 0), 0), 0) / js.length;
    };
    const sv = mean(V);
    const sa = mean(A);
    expect(f.weights[V]).toBeCloseTo(sv / (sv + sa), 10);
    expect(f.weights[A]).toBeCloseTo(sa / (sv + sa), 10);
    expect(f.weights[T]).toBe(1);
    expect(f.priority).toBe(V);
  });

  it('the priority follows each layer: audio-focused layers anchor on audio', () => {
    const { view, stats } = avLayer(1, 5, 3);
    const f = accKVFocus(context(view, stats, { budget: 6 }), opts(), 0);
    expect(f.priority).toBe(A);
    expect(f.weights[A]!).toBeGreaterThan(f.weights[V]!);
    const ablated = accKVFocus(context(view, stats, { budget: 6 }), opts({ focusing: false }), 0);
    expect(ablated.priority).toBe(V); // fixed fallback order
    expect(ablated.weights[A]).toBe(1);
  });

  it('handles three media spans (image, video, audio): weights sum to 1 over media', () => {
    const modality = [I, I, I, V, V, V, V, A, A, T, T];
    const n = modality.length;
    const att = causalFromWeights(n, (i, j) => (modality[i] === T && modality[j] === I ? 4 : 1));
    const { view, stats } = buildLayer({ headDim: 4, modality, heads: [{ keys: randomRows(n, 4, 2), attention: att }] });
    const f = accKVFocus(context(view, stats, { budget: 5 }), opts(), 0);
    expect(f.weights[I]! + f.weights[V]! + f.weights[A]!).toBeCloseTo(1, 12);
    expect(f.priority).toBe(I);
    const plan = planAccKV(context(view, stats, { budget: 5 }), opts())!;
    for (const j of [9, 10]) expect(Array.from(plan.heads[0]!.keep)).toContain(j);
  });
});

describe('AccKV cross-calibration (C-C)', () => {
  /**
   * Video keys around direction e0, audio keys around e1 except a few audio slots placed right
   * next to video keys: a modality-blind nearest-neighbour merge would pull those into video.
   */
  function calibrationLayer(seed: number, textToVideo = 1.5, nearVideoAudio = 1) {
    const d = 8;
    const nv = 16;
    const na = 12;
    const modality = [...new Array(nv).fill(V), ...new Array(na).fill(A), T, T, T];
    const n = modality.length;
    const nearVideo = (j: number) => modality[j] === A && j % 4 === 0;
    const noise = randomRows(n, d, seed);
    const keys = new Float32Array(n * d);
    for (let j = 0; j < n; j++) {
      for (let t = 0; t < d; t++) keys[j * d + t] = 0.3 * noise[j * d + t]!;
      const axis = modality[j] === V || nearVideo(j) ? 0 : modality[j] === A ? 1 : 2;
      keys[j * d + axis]! += 2;
    }
    const base = (j: number) => (1 + ((j * 7) % 5) / 10) * (nearVideo(j) ? nearVideoAudio : 1);
    const att = causalFromWeights(n, (i, j) => base(j) * (modality[i] === T && modality[j] === V ? textToVideo : 1));
    return { ...buildLayer({ headDim: d, modality, heads: [{ keys, attention: att }] }), keys, d, modality, n };
  }

  it('never merges across modalities in the intra-modal step', () => {
    const { view, stats, keys, d, modality } = calibrationLayer(11, 1.5, 0.3);
    const plan = planAccKV(context(view, stats, { budget: 14 }), opts({ crossCalibration: false, split: 'proportional' }))!;
    const hp = plan.heads[0]!;
    expect(hp.merges!.length).toBeGreaterThan(0);
    let blindCross = 0;
    for (const op of hp.merges!) {
      for (const f of Array.from(op.from)) {
        expect(modality[f], `slot ${f} merged into ${op.into}`).toBe(modality[op.into]);
        // The nearest kept slot of any modality would often be of the other modality.
        let best = -1;
        let bestCos = -Infinity;
        for (const k of Array.from(hp.keep)) {
          if (modality[k] === T) continue;
          const c = cosine(keys, f, keys, k, d);
          if (c > bestCos) [best, bestCos] = [k, c];
        }
        if (modality[best] !== modality[f]) blindCross++;
      }
    }
    expect(blindCross).toBeGreaterThan(0); // the constraint mattered in this fixture
  });

  for (const aggregation of ['mean', 'max'] as const) {
    it(`every surviving low-priority slot passes τ (${aggregation}), and some were evicted`, () => {
      const { view, stats, keys, d, modality, n } = calibrationLayer(12);
      const tau = aggregation === 'mean' ? 0.5 : 0.9;
      const before = planAccKV(context(view, stats, { budget: 14 }), opts({ crossCalibration: false, aggregation, tau, split: 'proportional' }))!.heads[0]!;
      const hp = planAccKV(context(view, stats, { budget: 14 }), opts({ aggregation, tau, split: 'proportional' }))!.heads[0]!;
      const keep = Array.from(hp.keep);
      const anchors = keep.filter((j) => modality[j] === V);
      expect(anchors.length).toBeGreaterThan(0);
      const agg = (q: number) => {
        const c = anchors.map((p) => cosine(keys, q, keys, p, d));
        return aggregation === 'mean' ? c.reduce((a, b) => a + b, 0) / c.length : Math.max(...c);
      };
      const survivors = keep.filter((j) => modality[j] === A);
      for (const q of survivors) expect(agg(q), `audio slot ${q}`).toBeGreaterThanOrEqual(tau - 1e-6);
      const evicted = Array.from(before.keep).filter((j) => modality[j] === A && !keep.includes(j));
      expect(evicted.length).toBeGreaterThan(0);
      for (const q of evicted) expect(agg(q)).toBeLessThan(tau);
      expect(survivors.length).toBeGreaterThan(0);
      // Text is never touched; merges only target survivors.
      for (let j = n - 3; j < n; j++) expect(keep).toContain(j);
      for (const op of hp.merges ?? []) expect(keep).toContain(op.into);
    });
  }

  it('keeps exactly the budget when step 6 is off, and no more than it otherwise', () => {
    const { view, stats } = calibrationLayer(13);
    for (const budget of [3, 5, 12, 20]) {
      expect(planAccKV(context(view, stats, { budget }), opts({ crossCalibration: false }))!.heads[0]!.keep.length).toBe(budget);
      expect(planAccKV(context(view, stats, { budget }), opts())!.heads[0]!.keep.length).toBeLessThanOrEqual(budget);
    }
    const proportional = planAccKV(context(view, stats, { budget: 12 }), opts({ crossCalibration: false, split: 'proportional' }))!;
    expect(proportional.heads[0]!.keep.length).toBe(12);
  });

  it('reports the focusing decision and the shortfall step 6 leaves (Appendix B.4)', () => {
    const { view, stats } = calibrationLayer(12);
    const env = { numLayers: 1, kvHeads: 1, qHeads: 1, headDim: 8, seed: 0 };
    const p = policies.create('acckv', { split: 'proportional', tau: 0.5, aggregation: 'mean', refill: false }, env) as AccKVInstance;
    const plan = p.plan(context(view, stats, { budget: 14 }))!;
    const r = p.reports()[0]!;
    expect(r.priority).toBe(V);
    expect(r.weights[V]! + r.weights[A]!).toBeCloseTo(1, 12);
    expect(r.evicted[0]).toBeGreaterThan(0);
    expect(plan.heads[0]!.keep.length).toBe(14 - r.evicted[0]!);
  });

  it('ablation switches remove their step', () => {
    const { view, stats } = calibrationLayer(14);
    const ctx = context(view, stats, { budget: 12 });
    expect(planAccKV(ctx, opts({ intraMerge: false }))!.heads[0]!.merges).toBeUndefined();
    expect(planAccKV(context(view, stats, { budget: 12, phase: 'decode' }), opts())).toBeNull();
    expect(planAccKV(context(view, stats, { budget: 40 }), opts())).toBeNull();
  });

  it('is registered with validated options and declares the statistics it reads', () => {
    const env = { numLayers: 2, kvHeads: 1, qHeads: 1, headDim: 8, seed: 0 };
    expect(policies.create('acckv', {}, env).needs).toEqual({ redistributed: true, cumulative: false, flows: false, textColumn: true });
    expect(policies.create('acckv', { focusMeasure: 'token-mean' }, env).needs).toEqual({ redistributed: true, cumulative: false, flows: true, textColumn: false });
    expect(policies.create('acckv', { redistribution: false, focusing: false }, env).needs).toEqual({ redistributed: false, cumulative: true, flows: false, textColumn: false });
    expect(() => policies.create('acckv', { tau: 3 }, env)).toThrow(/policies\.acckv\.tau/);
  });
});
