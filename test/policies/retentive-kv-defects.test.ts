/**
 * RetentiveKV's corrected defaults (issue 18): modality-fair keep score, per-token entropy
 * transition in the plan, sink protection, a query-free score when the question is not in the
 * compressed prefix, the additive gated readout from the current query, and one grid root per
 * frame. Each test fails on the implementation before the fix (whose reading stays available
 * as RETENTIVEKV_EARLIER_READING).
 */
import { describe, expect, it } from 'vitest';
import { policies } from '../../src/policies/catalog.js';
import { planRetentiveKV, RETENTIVEKV_EARLIER_READING, retentiveKVOptions, type RetentiveKVOptions } from '../../src/policies/retention/retentive-kv.js';
import type { StateSpaceMemory } from '../../src/ssm/state-memory.js';
import { validatePlan } from '../../src/cache/plan-validate.js';
import { allocTokenMeta } from '../../src/cache/token-meta.js';
import { A, buildLayer, causalFromWeights, context, randomRows, T, V } from '../methods/layer-fixture.js';

const opts = (o: Partial<RetentiveKVOptions> = {}): RetentiveKVOptions => retentiveKVOptions.parse(o);
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

/**
 * `<s>` + 3 instruction tokens, 8 video patches (4..11), 8 audio tokens (12..19), 4 question
 * tokens (20..23). The question rows attend `<s>` as a sink (weight `sink`), the question words
 * (4), one video patch (6: weight 3) and one audio token (15: weight 2); everything else 1.
 */
function avLayer(sink = 50) {
  const modality = [T, T, T, T, ...new Array(8).fill(V), ...new Array(8).fill(A), T, T, T, T];
  const n = modality.length;
  const weight = (j: number) => (j === 0 ? sink : j >= 20 ? 4 : j === 6 ? 3 : j === 15 ? 2 : 1);
  const att = causalFromWeights(n, (i, j) => (i >= 20 ? weight(j) : 1));
  return { ...buildLayer({ headDim: 4, modality, heads: [{ keys: randomRows(n, 4, 5), attention: att }] }), n, modality };
}

describe('RetentiveKV keep score: one entropy group per modality, attention normalised within media', () => {
  it('keeps the audio evidence beside the video evidence although `<s>` takes most of the question attention', () => {
    const { view, stats } = avLayer();
    const keep = Array.from(planRetentiveKV(context(view, stats, { budget: 10 }), opts({ window: 4 }))!.heads[0]!.keep);
    // 4 sinks + 4 question tokens + the two evidence slots.
    expect(keep).toEqual([0, 1, 2, 3, 6, 15, 20, 21, 22, 23]);
    // The earlier reading (min-max against `<s>`, no entropy for audio) spends the free slots on video.
    const earlier = Array.from(planRetentiveKV(context(view, stats, { budget: 10 }), opts({ ...RETENTIVEKV_EARLIER_READING, window: 4 }))!.heads[0]!.keep);
    expect(earlier).not.toContain(15);
  });
});

describe('RetentiveKV state transition: per-token σ(β·H̃) in position order', () => {
  it("hands each absorbed slot its own h_i = σ(8·H_i / max H of its group) as the plan's retainDecay", () => {
    const { view, stats, modality } = avLayer();
    const hp = planRetentiveKV(context(view, stats, { budget: 10 }), opts({ window: 4, absorbQuantile: 0 }))!.heads[0]!;
    const retain = Array.from(hp.retain!);
    expect(retain).toEqual([...range(4, 6), ...range(7, 15), ...range(16, 20)]); // every evicted slot, ascending
    const alpha = Array.from(stats.textColumn![0]!);
    const sum = (m: number) => alpha.reduce((s, a, j) => s + (modality[j] === m ? a : 0), 0);
    const H = alpha.map((a, j) => {
      const p = a / sum(modality[j]!);
      return -p * Math.log(p);
    });
    const maxH = (m: number) => Math.max(...H.filter((_, j) => modality[j] === m));
    retain.forEach((j, i) => expect(hp.retainDecay![i]).toBeCloseTo(sigmoid((8 * H[j]!) / maxH(modality[j]!)), 6));
    // Different entropies give different transitions (the old per-event decay was one scalar).
    expect(new Set(Array.from(hp.retainDecay!, (x) => x.toFixed(6))).size).toBeGreaterThan(1);
  });
});

describe('RetentiveKV sinks and the query-agnostic fallback', () => {
  it('never evicts `<s>` and the first sinks slots, even when media outscore them', () => {
    // `<s>` + 12 video patches + 4 question tokens; the question ignores `<s>` and favours every fourth patch.
    const modality = [T, ...new Array(12).fill(V), T, T, T, T];
    const n = modality.length;
    const att = causalFromWeights(n, (i, j) => (i >= 13 ? (j === 0 ? 0.01 : 1 + (j % 4)) : 1));
    const { view, stats } = buildLayer({ headDim: 4, modality, heads: [{ keys: randomRows(n, 4, 8), attention: att }] });
    const keep = (o: Partial<RetentiveKVOptions>, budget: number) => Array.from(planRetentiveKV(context(view, stats, { budget }), opts({ window: 4, ...o }))!.heads[0]!.keep);
    expect(keep({}, 7).slice(0, 4)).toEqual([0, 1, 2, 3]);
    expect(keep({ sinks: 0 }, 7)).not.toContain(0); // without sinks three patches outscore `<s>`
    expect(keep({ sinks: 1 }, 6)[0]).toBe(0);
    expect(keep({}, 2)).toEqual([0, 1]); // the sinks come first when the budget is smaller than they are
  });

  it('without the question in the prefix, scores by accumulated attention instead of keeping the earliest tokens', () => {
    // `<s>` + 15 video patches; `<s>` attends only itself, later patches attend patches 8 and 9.
    const modality = [T, ...new Array(15).fill(V)];
    const n = modality.length;
    const att = causalFromWeights(n, (i, j) => (i >= 8 && (j === 8 || j === 9) ? 20 : 1));
    const { view, stats } = buildLayer({ headDim: 4, modality, heads: [{ keys: randomRows(n, 4, 6), attention: att }] });
    const agnostic = (o: Partial<RetentiveKVOptions>) =>
      Array.from(planRetentiveKV({ ...context(view, stats, { budget: 8 }), queryAware: false }, opts({ window: 2, ...o }))!.heads[0]!.keep);
    expect(agnostic({})).toEqual([0, 1, 2, 3, 8, 9, 14, 15]);
    expect(agnostic({ agnosticScore: 'mean' })).toEqual([0, 1, 2, 3, 8, 9, 14, 15]);
    // The earlier reading read only the `<s>` row: every media slot scores 0 and the earliest win.
    expect(agnostic({ agnosticScore: 'text-rows', sinks: 0 })).toEqual([0, 1, 2, 3, 4, 5, 14, 15]);
  });
});

describe('RetentiveKV readout and grid root', () => {
  it("adds γ·O_S by default, γ = σ(w·H̄_q + b) from each current query row, whatever mass the prefill gave the absorbed slots", () => {
    const env = { numLayers: 1, kvHeads: 1, qHeads: 2, headDim: 4, seed: 0 };
    const store = policies.create('retentivekv', {}, env).retention as StateSpaceMemory;
    const meta = allocTokenMeta(1);
    meta.modality[0] = V;
    const k = Float32Array.of(0.5, -1, 0.25, 2);
    const v = Float32Array.of(1, -2, 3, 0.5);
    store.absorb(0, 0, k, v, meta, Float32Array.of(0.7), 0.3, Float32Array.of(1));
    const q = randomRows(2 * 2, 4, 9); // 2 query rows × 2 query heads
    const local = randomRows(2 * 2, 4, 10);
    const out = local.slice();
    const rowEntropy = [0.4, 2.5];
    store.readout(0, q, 2, 2, 1, 4, { groupSize: 2, queries: 2, rowEntropy: [Float32Array.from(rowEntropy)] }, out);
    // One absorbed pair: O_S = v for every query (φ(q)·S / φ(q)·z with a single write).
    for (let row = 0; row < 2; row++) {
      const gamma = sigmoid(rowEntropy[row]!);
      for (let t = 0; t < 2 * 4; t++) expect(out[row * 8 + t]).toBeCloseTo(local[row * 8 + t]! + gamma * v[t % 4]!, 5);
    }
  });

  it('decays visual writes by the Manhattan distance to the root patch of their own frame', () => {
    // `<s>`, frame 0 (time 0): patches 1..4 on a 2×2 grid, frame 1 (time 1): 5..8, question 9.
    const modality = [T, V, V, V, V, V, V, V, V, T];
    const n = modality.length;
    const grid = [-1, 0, 1, 2, 3, 0, 1, 2, 3, -1];
    const row = grid.map((g) => (g < 0 ? -1 : Math.floor(g / 2)));
    const col = grid.map((g) => (g < 0 ? -1 : g % 2));
    const weight = (j: number) => (j === 1 ? 6 : j === 8 ? 5 : 1); // roots: (0,0) of frame 0, (1,1) of frame 1
    const att = causalFromWeights(n, (i, j) => (i === 9 ? weight(j) : 1));
    const segment = modality.map((m) => (m === V ? 0 : -1));
    const { view, stats, meta } = buildLayer({ headDim: 4, modality, row, col, segment, heads: [{ keys: randomRows(n, 4, 7), attention: att }] });
    for (let j = 5; j <= 8; j++) meta.time[j] = 1;
    for (let j = 1; j <= 4; j++) meta.time[j] = 0;
    const o = { window: 1, sinks: 1, absorbQuantile: 0, absorbStrength: 'uniform' as const, gridDecay: 0.5 };
    const hp = planRetentiveKV(context(view, stats, { budget: 4 }), opts(o))!.heads[0]!;
    expect(Array.from(hp.keep)).toEqual([0, 1, 8, 9]);
    expect(Array.from(hp.retain!)).toEqual([2, 3, 4, 5, 6, 7]);
    // frame 0 around (0,0): (0,1) 1, (1,0) 1, (1,1) 2; frame 1 around (1,1): (0,0) 2, (0,1) 1, (1,0) 1.
    expect(Array.from(hp.retainStrength!)).toEqual([0.5, 0.5, 0.25, 0.25, 0.5, 0.5]);
    const perSegment = planRetentiveKV(context(view, stats, { budget: 4 }), opts({ ...o, gridRoot: 'segment' }))!.heads[0]!;
    expect(Array.from(perSegment.retainStrength!)).toEqual([0.5, 0.5, 0.25, 1, 0.5, 0.5]);
  });

  it('the cache rejects a retainDecay that does not match retain or leaves (0, 1]', () => {
    const c = { layer: 2, kvHeads: 1, lengths: Int32Array.of(4), hasRetention: true };
    const plan = (retainDecay: Float32Array) => ({ heads: [{ keep: Int32Array.of(0, 3), retain: Int32Array.of(1, 2), retainDecay }] });
    expect(() => validatePlan(plan(Float32Array.of(0.5, 1)), c)).not.toThrow();
    expect(() => validatePlan(plan(Float32Array.of(0.5)), c)).toThrow(/layer 2, kv head 0: retainDecay must be a Float32Array with one entry per retained slot \(2\)/);
    expect(() => validatePlan(plan(Float32Array.of(0.5, 0)), c)).toThrow(/retainDecay\[1\] = 0; expected a number in \(0, 1\]/);
  });
});
