/**
 * FlowMM defects of issue 18, each pinned by a test that failed on the earlier defaults: ρ
 * counted attention to the `<s>` sink as cross-modal flow, 32 proxies outnumbered the question
 * (so most "proxies" were media slots that took the budget), the sensitivity quantile ran over
 * the proxies too, and there was no "pivots, no merge" ablation.
 */
import { describe, expect, it } from 'vitest';
import { interactionRatio } from '../../src/policies/merging/flowmm-flow.js';
import { flowMMLayerDecision, flowMMOptions, planFlowMM, type FlowMMOptions } from '../../src/policies/merging/flowmm.js';
import { questionLength } from '../../src/policies/merging/flowmm-pivots.js';
import { buildLayer, causalFromWeights, context, randomRows, T, V } from '../methods/layer-fixture.js';

const opts = (o: Partial<FlowMMOptions> = {}): FlowMMOptions => flowMMOptions.parse(o);

describe('FlowMM ρ leaves the text before the media out (defect a)', () => {
  /**
   * `<s>`, 4 video, 2 question tokens. Video rows: 0.8 on `<s>`, 0.2 over visible video.
   * Question rows: 0.5 on `<s>`, 0.3 over the video, 0.2 over the question so far.
   * With `<s>`: cross = 4·0.8 + 2·0.3 = 3.8 of 7 rows → 0.543 (mostly the sink).
   * Without: cross = 2·0.3 = 0.6 of 7 − (1 + 3.2 + 1.0) = 1.8 → 1/3.
   */
  function sinkLayer() {
    const modality = [T, V, V, V, V, T, T];
    const n = modality.length;
    const att = modality.map((m, i) => {
      const row = new Array<number>(n).fill(0);
      if (i === 0) row[0] = 1;
      else if (m === V) {
        row[0] = 0.8;
        for (let j = 1; j <= i; j++) row[j] = 0.2 / i;
      } else {
        row[0] = 0.5;
        for (let j = 1; j <= 4; j++) row[j] = 0.3 / 4;
        for (let j = 5; j <= i; j++) row[j] = 0.2 / (i - 4);
      }
      return row;
    });
    return buildLayer({ headDim: 4, modality, heads: [{ keys: randomRows(n, 4, 3), attention: att }] });
  }

  it('by default ρ is the cross-modal share of the attention among media and question', () => {
    const { view, stats } = sinkLayer();
    const ctx = context(view, stats, { budget: 4 });
    expect(interactionRatio(stats.flows![0]!, 'text-media')).toBeCloseTo(3.8 / 7, 6);
    expect(flowMMLayerDecision(ctx, opts({ theta: 0.4 }))).toEqual({ rho: expect.closeTo(1 / 3, 6), strategy: 'intra' });
    expect(flowMMLayerDecision(ctx, opts({ theta: 0.4, leadingText: 'include' }))).toEqual({ rho: expect.closeTo(3.8 / 7, 6), strategy: 'cross' });
  });
});

/** `<s>`, 20 video slots, a 3-token question that attends to video slot 2 above all. */
function questionLayer(seed = 5) {
  const modality = [T, ...new Array(20).fill(V), T, T, T];
  const n = modality.length;
  const att = causalFromWeights(n, (i, j) => (modality[i] === T && i > 0 ? (j === 2 ? 20 : j === 7 || j === 11 ? 6 : j >= 21 ? 4 : 1) : 1));
  return buildLayer({ headDim: 4, modality, heads: [{ keys: randomRows(n, 4, seed), attention: att }] });
}

describe('FlowMM proxies are the question (defect b)', () => {
  it('the question tokens are the proxies: the slot the question attends to is a pivot', () => {
    const { view, stats, meta } = questionLayer();
    expect(questionLength(meta, 24)).toBe(3);
    const { plan, report } = planFlowMM(context(view, stats, { budget: 6 }), opts());
    const keep = Array.from(plan!.heads[0]!.keep);
    expect(report!.proxies).toEqual([3]);
    for (const j of [21, 22, 23, 2]) expect(keep).toContain(j);
    // The earlier default (the last 32 prompt tokens) spends the whole budget on the tail.
    const old = planFlowMM(context(view, stats, { budget: 6 }), opts({ proxies: 'window' })).plan!;
    expect(Array.from(old.heads[0]!.keep)).toEqual([18, 19, 20, 21, 22, 23]);
  });

  it('question importance is the question rows’ attention: textColumn equals a window of the question length past <s>', () => {
    const modality = [T, ...new Array(20).fill(V), T, T, T];
    const n = modality.length;
    const att = causalFromWeights(n, (i, j) => (modality[i] === T && i > 0 ? (j === 2 ? 20 : 1) : 1));
    const { stats } = buildLayer({ headDim: 4, modality, heads: [{ keys: randomRows(n, 4, 5), attention: att }], window: 3 });
    const text = stats.textColumn![0]!;
    const window = stats.window![0]!;
    for (let j = 1; j < n; j++) expect(text[j]).toBeCloseTo(window[j]!, 6);
    expect(text[0]! - window[0]!).toBeCloseTo(1, 6); // the <s> row's own mass
  });

  it('falls back to the last nProxy tokens when no text follows the media', () => {
    const modality = [T, ...new Array(10).fill(V)];
    const n = modality.length;
    const { view, stats, meta } = buildLayer({ headDim: 4, modality, heads: [{ keys: randomRows(n, 4, 2), attention: causalFromWeights(n, () => 1) }], window: 2 });
    expect(questionLength(meta, n)).toBe(0);
    const { report } = planFlowMM(context(view, stats, { budget: 4 }), opts({ nProxy: 2 }));
    expect(report!.proxies).toEqual([2]);
  });

  it('the sensitivity quantile runs over the pivots that are not proxies', () => {
    const { view, stats } = questionLayer();
    const I = stats.textColumn![0]!;
    const { plan, report } = planFlowMM(context(view, stats, { budget: 8 }), opts({ theta: 0, tau: 0.5 }));
    const keep = Array.from(plan!.heads[0]!.keep);
    const nonProxy = keep.filter((j) => j < 21).map((j) => I[j]!).sort((a, b) => a - b);
    const median = nonProxy[2]!; // 5 non-proxy pivots: the middle one
    const sensitive = keep.filter((j) => I[j]! > median);
    expect(report!.sensitive[0]).toBe(sensitive.length);
    for (const op of plan!.heads[0]!.merges ?? []) expect(sensitive).not.toContain(op.into);
    // Over all pivots the question tokens' own mass would set the quantile.
    const all = planFlowMM(context(view, stats, { budget: 8 }), opts({ theta: 0, tau: 0.5, tauScope: 'all-pivots' })).report!;
    expect(all.sensitive[0]).not.toBe(report!.sensitive[0]);
  });
});

describe('FlowMM "pivots, no merge" ablation (defect b)', () => {
  it('keeps the same pivots and merges nothing', () => {
    const { view, stats } = questionLayer(9);
    const ctx = context(view, stats, { budget: 8 });
    const merged = planFlowMM(ctx, opts()).plan!.heads[0]!;
    const plain = planFlowMM(ctx, opts({ merge: false })).plan!.heads[0]!;
    expect(Array.from(plain.keep)).toEqual(Array.from(merged.keep));
    expect(merged.merges!.length).toBeGreaterThan(0);
    expect(plain.merges).toBeUndefined();
  });
});
