/**
 * AccKV defects of issue 18, each pinned by a test that failed on the earlier defaults:
 * cross-calibration by mean cosine deleted aligned low-priority slots, freed slots were not
 * refilled, merges into evicted targets were lost, and token-mean focusing favoured the
 * smaller modality.
 */
import { describe, expect, it } from 'vitest';
import { anchorAlignment, anchorCoherence, calibrationThreshold } from '../../src/policies/multimodal/acckv-calibrate.js';
import { accKVFocus, accKVOptions, planAccKV, type AccKVOptions } from '../../src/policies/multimodal/acckv.js';
import { buildLayer, causalFromWeights, context, cosine, A, T, V } from '../methods/layer-fixture.js';

const opts = (o: Partial<AccKVOptions> = {}): AccKVOptions => accKVOptions.parse(o);
const D = 8;

/** A unit-ish key along axis a (sign s) plus a small deterministic offset. */
function axisKey(keys: Float32Array, j: number, a: number, s = 1, jitter = 0.05): void {
  for (let t = 0; t < D; t++) keys[j * D + t] = jitter * Math.sin(7 * j + 3 * t);
  keys[j * D + a]! += s;
}

/**
 * `<s>`, 8 video slots spread over ±e0..±e3 (like post-RoPE keys at many positions: their mean
 * is near zero), 6 audio slots, 2 question tokens that favour video. Audio slots 9, 10, 11 sit
 * next to a video key; 12, 13, 14 point along e4..e6, away from every video key.
 */
function spreadAnchorsLayer() {
  const modality = [T, V, V, V, V, V, V, V, V, A, A, A, A, A, A, T, T];
  const n = modality.length;
  const keys = new Float32Array(n * D);
  axisKey(keys, 0, 7);
  for (let v = 0; v < 8; v++) axisKey(keys, 1 + v, v % 4, v < 4 ? 1 : -1);
  axisKey(keys, 9, 0, 1);
  axisKey(keys, 10, 1, -1);
  axisKey(keys, 11, 2, 1);
  for (let a = 0; a < 3; a++) axisKey(keys, 12 + a, 4 + a);
  axisKey(keys, 15, 7);
  axisKey(keys, 16, 7);
  const att = causalFromWeights(n, (i, j) => (modality[i] === T && modality[j] === V ? 3 : 1));
  return { ...buildLayer({ headDim: D, modality, heads: [{ keys, attention: att }] }), keys, modality };
}

describe('AccKV cross-calibration keeps aligned low-priority slots (defect a)', () => {
  it('by default an audio key next to a video anchor survives; one far from every anchor is evicted', () => {
    const { view, stats } = spreadAnchorsLayer();
    // Budget 16 of 17 slots: the weakest audio slot (14) is not selected; calibration decides the rest.
    const ctx = context(view, stats, { budget: 16 });
    const selected = Array.from(planAccKV(ctx, opts({ crossCalibration: false }))!.heads[0]!.keep);
    expect(selected).toEqual([...Array(14).keys(), 15, 16]);
    const keep = Array.from(planAccKV(ctx, opts({ refill: false }))!.heads[0]!.keep);
    for (const q of [9, 10, 11]) expect(keep, `aligned audio slot ${q}`).toContain(q);
    for (const q of [12, 13]) expect(keep, `unaligned audio slot ${q}`).not.toContain(q);
    // The earlier default (mean cosine ≥ 0.6) evicts the aligned slots as well: the anchors'
    // mean direction is near zero, so every mean cosine is.
    const mean = Array.from(planAccKV(ctx, opts({ refill: false, aggregation: 'mean' }))!.heads[0]!.keep);
    for (const q of [9, 10, 11, 12, 13]) expect(mean).not.toContain(q);
  });

  it('the relative threshold compares with the anchors’ own coherence (leave-one-out)', () => {
    const { view, stats, keys, modality } = spreadAnchorsLayer();
    const anchors = Int32Array.from(modality.flatMap((m, j) => (m === V ? [j] : [])));
    for (const aggregation of ['mean', 'max'] as const) {
      let total = 0;
      for (const p of anchors) {
        const c = Array.from(anchors).filter((x) => x !== p).map((x) => cosine(keys, p, keys, x, D));
        total += aggregation === 'max' ? Math.max(...c) : c.reduce((a, b) => a + b, 0) / c.length;
      }
      expect(anchorCoherence(keys, D, anchors, aggregation)).toBeCloseTo(total / anchors.length, 6);
    }
    // Relative mode: survivors clear τ·c_ref, evicted slots do not (here the spread anchors
    // are barely coherent, so the relative test is lenient: it keeps what points anywhere near them).
    for (const aggregation of ['mean', 'max'] as const) {
      const tau = 0.5;
      const threshold = calibrationThreshold(keys, D, anchors, tau, aggregation, 'relative');
      expect(threshold).toBeCloseTo(tau * anchorCoherence(keys, D, anchors, aggregation), 12);
      const keep = Array.from(planAccKV(context(view, stats, { budget: 16 }), opts({ refill: false, threshold: 'relative', tau, aggregation }))!.heads[0]!.keep);
      const selected = Array.from(planAccKV(context(view, stats, { budget: 16 }), opts({ crossCalibration: false }))!.heads[0]!.keep);
      const audio = selected.filter((j) => modality[j] === A);
      expect(audio.length).toBe(5);
      const c = anchorAlignment(keys, D, audio, anchors, aggregation);
      audio.forEach((q, i) => expect(keep.includes(q), `audio ${q} (${aggregation})`).toBe(c[i]! >= threshold));
    }
  });
});

/**
 * `<s>`, 6 video slots on ±e0..±e2, 3 audio slots: 7 (next to video slot 1), 8 (far from
 * video, kept by score), 9 (next to 8, a low score: dropped and merged), 2 question tokens.
 */
function refillLayer() {
  const modality = [T, V, V, V, V, V, V, A, A, A, T, T];
  const n = modality.length;
  const keys = new Float32Array(n * D);
  axisKey(keys, 0, 7);
  for (let v = 0; v < 6; v++) axisKey(keys, 1 + v, v % 3, v < 3 ? 1 : -1);
  axisKey(keys, 7, 0, 1, 0.2);
  axisKey(keys, 8, 5, 1);
  for (let t = 0; t < D; t++) keys[9 * D + t] = keys[8 * D + t]! + 0.1 * (t === 0 ? 1 : 0);
  axisKey(keys, 10, 7);
  axisKey(keys, 11, 7);
  // Question tokens: video 1..3 and audio 7, 8 strongly, video 4..6 moderately, audio 9 weakly.
  const w = [1, 6, 6, 6, 2, 2.5, 3, 6, 6, 0.5, 1, 1];
  const att = causalFromWeights(n, (i, j) => (modality[i] === T ? w[j]! : 1));
  return { ...buildLayer({ headDim: D, modality, heads: [{ keys, attention: att }] }), keys, modality };
}

describe('AccKV refills freed slots and redirects orphaned merges (defect b)', () => {
  it('a slot freed by calibration goes to the next media slot by score: the head ends at its budget', () => {
    const { view, stats } = refillLayer();
    const budget = 9; // 3 text + 6 media
    const hp = planAccKV(context(view, stats, { budget }), opts({ focusing: false }))!.heads[0]!;
    const keep = Array.from(hp.keep);
    expect(keep.length).toBe(budget);
    expect(keep).not.toContain(8); // evicted: far from every video anchor
    const old = planAccKV(context(view, stats, { budget }), opts({ focusing: false, refill: false }))!.heads[0]!;
    expect(old.keep.length).toBe(budget - 1);
    const added = keep.filter((j) => !Array.from(old.keep).includes(j));
    expect(added).toHaveLength(1);
    expect([4, 5, 6]).toContain(added[0]); // a video slot (priority), never the unaligned audio 9
  });

  it('a dropped slot whose nearest kept slot was evicted merges into the nearest survivor of its modality', () => {
    const { view, stats } = refillLayer();
    const hp = planAccKV(context(view, stats, { budget: 9 }), opts({ focusing: false }))!.heads[0]!;
    const into = (slot: number) => (hp.merges ?? []).find((op) => Array.from(op.from).includes(slot))?.into;
    expect(into(9)).toBe(7); // its nearest kept audio slot (8) was evicted
    const dropped = planAccKV(context(view, stats, { budget: 9 }), opts({ focusing: false, evictedMerges: 'drop' }))!.heads[0]!;
    expect((dropped.merges ?? []).some((op) => Array.from(op.from).includes(9))).toBe(false);
    for (const op of hp.merges ?? []) expect(Array.from(hp.keep)).toContain(op.into);
  });
});

describe('AccKV focusing does not favour the smaller modality (defect c)', () => {
  /** 12 video slots (two evidence slots), 4 audio slots, 2 question tokens. */
  function evidenceLayer(uniform = false) {
    const modality = [T, ...new Array(12).fill(V), A, A, A, A, T, T];
    const n = modality.length;
    const textWeight = (j: number) => (uniform ? 1 : modality[j] === A ? 3 : j === 3 || j === 8 ? 10 : modality[j] === V ? 0.5 : 1);
    const att = causalFromWeights(n, (i, j) => (modality[i] === T ? textWeight(j) : 1));
    const keys = new Float32Array(n * D);
    for (let j = 0; j < n; j++) axisKey(keys, j, j % D);
    return buildLayer({ headDim: D, modality, heads: [{ keys, attention: att }] });
  }

  it('video holds the strongest evidence and most of the mass: it gets the priority and the larger weight', () => {
    // Text→video mass 2·10 + 10·0.5 = 25 over 12 slots (mean 2.1); text→audio 4·3 = 12 over 4 (mean 3).
    const { view, stats } = evidenceLayer();
    const ctx = context(view, stats, { budget: 8 });
    const f = accKVFocus(ctx, opts(), 0);
    expect(f.priority).toBe(V);
    expect(f.weights[V]!).toBeGreaterThan(f.weights[A]!);
    // top-4 means: video (10 + 10 + 0.5 + 0.5)/4 = 5.25 against audio 3
    expect(f.weights[V]! / f.weights[A]!).toBeCloseTo(5.25 / 3, 5);
    const tokenMean = accKVFocus(ctx, opts({ focusMeasure: 'token-mean' }), 0);
    expect(tokenMean.priority).toBe(A);
  });

  it('under uniform attention both measures give equal weights', () => {
    const { view, stats } = evidenceLayer(true);
    for (const focusMeasure of ['matched-top', 'token-mean'] as const) {
      const f = accKVFocus(context(view, stats, { budget: 8 }), opts({ focusMeasure }), 0);
      expect(f.weights[V]).toBeCloseTo(0.5, 6);
      expect(f.weights[A]).toBeCloseTo(0.5, 6);
    }
  });
});
