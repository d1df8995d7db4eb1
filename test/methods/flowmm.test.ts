import { describe, expect, it } from 'vitest';
import { policies } from '../../src/policies/catalog.js';
import { interactionRatio } from '../../src/policies/merging/flowmm-flow.js';
import { flowMMLayerDecision, flowMMOptions, planFlowMM, type FlowMMOptions } from '../../src/policies/merging/flowmm.js';
import { buildLayer, context, randomRows, selfAttention, A, I, T, V } from './layer-fixture.js';

const opts = (o: Partial<FlowMMOptions> = {}): FlowMMOptions => flowMMOptions.parse(o);

/** 2 system text, 6 image, 2 question text; cross-modal mass 0.6 + 0.9 of 10 rows: ρ = 0.15. */
function toyRho015() {
  const modality = [T, T, I, I, I, I, I, I, T, T];
  const n = modality.length;
  const att = modality.map((m, i) => {
    const row = new Array<number>(n).fill(0);
    if (i < 2) for (let j = 0; j <= i; j++) row[j] = 1 / (i + 1);
    else if (m === I) {
      row[0] = row[1] = 0.05; // 0.1 to text
      for (let j = 2; j <= i; j++) row[j] = 0.9 / (i - 1);
    } else {
      for (let j = 2; j < 8; j++) row[j] = 0.45 / 6; // 0.45 to images
      const texts = [0, 1, ...(i === 9 ? [8, 9] : [8])];
      for (const j of texts) row[j] = 0.55 / texts.length;
    }
    return row;
  });
  return buildLayer({ headDim: 4, modality, heads: [{ keys: randomRows(n, 4, 1), attention: att }], window: 2 });
}

/** A realistic layer: text/image/text with softmax self-attention; keys biased per modality. */
function mixedLayer(seed: number, n = 40, layer = 0, kvHeads = 2) {
  const d = 8;
  const modality = Array.from({ length: n }, (_, j) => (j < 4 || j >= n - 6 ? T : j < n / 2 ? I : V));
  const heads = Array.from({ length: kvHeads }, (_, h) => {
    const keys = randomRows(n, d, seed * 10 + h);
    for (let j = 0; j < n; j++) keys[j * d + modality[j]!]! += 1.5 * ((seed % 3) + 1) * 0.5;
    return { keys, values: randomRows(n, d, seed * 10 + h + 5), attention: selfAttention(keys, d) };
  });
  return buildLayer({ layer, headDim: d, modality, heads, window: 4 });
}

describe('FlowMM information-flow guidance', () => {
  it('ρ of the hand-set toy is 0.15: intra-modal at θ = 0.2, cross-modal at θ = 0.1 (Appendix B.2)', () => {
    const { view, stats } = toyRho015();
    expect(interactionRatio(stats.flows![0]!, 'text-media')).toBeCloseTo(0.15, 12);
    const ctx = context(view, stats, { budget: 5 });
    expect(flowMMLayerDecision(ctx, opts({ theta: 0.2, leadingText: 'include' }))).toEqual({ rho: expect.closeTo(0.15, 12), strategy: 'intra' });
    expect(flowMMLayerDecision(ctx, opts({ theta: 0.1, leadingText: 'include' })).strategy).toBe('cross');
  });

  it('θ = 0 makes every layer cross-modal and θ = 1 every layer intra-modal', () => {
    for (let layer = 0; layer < 4; layer++) {
      const { view, stats } = mixedLayer(layer + 1, 40, layer);
      const ctx = context(view, stats, { budget: 10, layer, numLayers: 4 });
      expect(planFlowMM(ctx, opts({ theta: 0, nProxy: 4 })).report!.strategy).toBe('cross');
      expect(planFlowMM(ctx, opts({ theta: 1, nProxy: 4 })).report!.strategy).toBe('intra');
    }
  });

  it('an intra-modal layer never merges across modalities; a cross-modal one does', () => {
    const { view, stats, meta } = mixedLayer(4);
    const ctx = context(view, stats, { budget: 10 });
    const intra = planFlowMM(ctx, opts({ theta: 1, nProxy: 4 })).plan!;
    const cross = planFlowMM(ctx, opts({ theta: 0, nProxy: 4 })).plan!;
    let crossInCross = 0;
    for (const h of [0, 1]) {
      for (const op of intra.heads[h]!.merges ?? []) for (const f of Array.from(op.from)) expect(meta.modality[f]).toBe(meta.modality[op.into]);
      for (const op of cross.heads[h]!.merges ?? []) for (const f of Array.from(op.from)) if (meta.modality[f] !== meta.modality[op.into]) crossInCross++;
    }
    expect(crossInCross).toBeGreaterThan(0);
  });

  it('flowGuidance off uses the fixed strategy; a per-layer ρ table replaces the online ρ', () => {
    const { view, stats } = mixedLayer(5);
    const ctx = context(view, stats, { budget: 10, layer: 1, numLayers: 2 });
    expect(flowMMLayerDecision(ctx, opts({ flowGuidance: false, theta: 1 })).strategy).toBe('cross');
    expect(flowMMLayerDecision(ctx, opts({ flowGuidance: false, unguidedStrategy: 'intra', theta: 0 })).strategy).toBe('intra');
    expect(flowMMLayerDecision(ctx, opts({ rho: [0.9, 0.1], theta: 0.2 }))).toEqual({ rho: 0.1, strategy: 'intra' });
    expect(() => flowMMLayerDecision(ctx, opts({ rho: [0.5] }))).toThrow(/policies\.flowmm\.rho has 1 entries/);
  });
});

describe('FlowMM pivots and sensitivity-gated matching', () => {
  it('keeps exactly B pivots per head: the proxies plus the top-(B − nProxy) by proxy attention', () => {
    const { view, stats } = mixedLayer(6);
    for (const budget of [1, 4, 9, 25]) {
      const plan = planFlowMM(context(view, stats, { budget }), opts({ proxies: 'window', nProxy: 4 })).plan!;
      for (const h of [0, 1]) {
        const keep = Array.from(plan.heads[h]!.keep);
        expect(keep.length).toBe(budget);
        const proxies = [36, 37, 38, 39].slice(4 - Math.min(4, budget));
        for (const p of proxies) expect(keep).toContain(p);
        const I = stats.window![h]!;
        const minKept = Math.min(...keep.filter((j) => j < 36).map((j) => I[j]!));
        for (let j = 0; j < 36; j++) if (!keep.includes(j)) expect(I[j]!).toBeLessThanOrEqual(minKept);
      }
    }
  });

  it('sensitive pivots (I > τ) receive no merge; without sensitivity matching they do', () => {
    const { view, stats } = mixedLayer(7);
    const ctx = context(view, stats, { budget: 12 });
    const absolute = quantileOf([...stats.window![0]!, ...stats.window![1]!], 0.9);
    for (const [tauMode, tau] of [['quantile', 0.25], ['absolute', absolute]] as const) {
      const { plan, report } = planFlowMM(ctx, opts({ proxies: 'window', tauScope: 'all-pivots', nProxy: 4, theta: 0, tauMode, tau }));
      for (const h of [0, 1]) {
        const I = stats.window![h]!;
        const keep = Array.from(plan!.heads[h]!.keep);
        const threshold = tauMode === 'absolute' ? tau : quantileOf(keep.map((j) => I[j]!), 1 - tau);
        const sensitive = keep.filter((j) => I[j]! > threshold);
        expect(sensitive.length).toBe(report!.sensitive[h]);
        expect(sensitive.length).toBeGreaterThan(0);
        for (const op of plan!.heads[h]!.merges ?? []) expect(sensitive).not.toContain(op.into);
      }
    }
    const open = planFlowMM(ctx, opts({ proxies: 'window', nProxy: 4, theta: 0, sensitivityMatching: false })).plan!;
    const top = (h: number) => Array.from(open.heads[h]!.keep).sort((a, b) => stats.window![h]![b]! - stats.window![h]![a]!).slice(0, 3);
    const intoTop = [0, 1].some((h) => (open.heads[h]!.merges ?? []).some((op) => top(h).includes(op.into)));
    expect(intoTop).toBe(true);
  });

  it('each non-pivot goes to its most key-similar admissible pivot', () => {
    const { view, stats } = mixedLayer(8);
    const plan = planFlowMM(context(view, stats, { budget: 10 }), opts({ nProxy: 4, theta: 0, sensitivityMatching: false })).plan!;
    const d = view.headDim;
    const keys = view.keys(0);
    const keep = Array.from(plan.heads[0]!.keep);
    const cos = (a: number, b: number) => {
      let s = 0, na = 0, nb = 0;
      for (let t = 0; t < d; t++) { s += keys[a * d + t]! * keys[b * d + t]!; na += keys[a * d + t]! ** 2; nb += keys[b * d + t]! ** 2; }
      return s / Math.sqrt(na * nb);
    };
    let merged = 0;
    for (const op of plan.heads[0]!.merges!) {
      for (const f of Array.from(op.from)) {
        merged++;
        for (const k of keep) expect(cos(f, op.into)).toBeGreaterThanOrEqual(cos(f, k) - 1e-6);
      }
    }
    expect(merged).toBe(40 - 10); // cross-modal, every pivot eligible: nothing is dropped
  });

  it('drops and counts non-pivots without an admissible pivot of their modality', () => {
    // Audio slots get almost no proxy attention, so no audio slot becomes a pivot.
    const modality = [T, T, A, A, A, A, V, V, V, V, T, T];
    const n = modality.length;
    const keys = randomRows(n, 4, 3);
    const att = selfAttention(keys, 4).map((row, i) => (i >= n - 2 ? row.map((p, j) => (modality[j] === A ? 0 : p)) : row));
    const { view, stats } = buildLayer({ headDim: 4, modality, heads: [{ keys, attention: att }], window: 2 });
    const { report } = planFlowMM(context(view, stats, { budget: 6 }), opts({ nProxy: 2, theta: 1, sensitivityMatching: false }));
    expect(report!.strategy).toBe('intra');
    expect(report!.unmatched[0]).toBe(4);
    expect(planFlowMM(context(view, stats, { budget: 6 }), opts({ nProxy: 2, theta: 0, sensitivityMatching: false })).report!.unmatched[0]).toBe(0);
  });

  it('is prefill-only, registered, and asks for window = nProxy and flows', () => {
    const { view, stats } = mixedLayer(9);
    expect(planFlowMM(context(view, stats, { budget: 10, phase: 'decode' }), opts()).plan).toBeNull();
    const env = { numLayers: 2, kvHeads: 2, qHeads: 4, headDim: 8, seed: 0 };
    expect(policies.create('flowmm', { nProxy: 8 }, env).needs).toEqual({ window: 8, flows: true, cumulative: true, textColumn: true });
    expect(policies.create('flowmm', { nProxy: 8, proxies: 'window', leadingText: 'include' }, env).needs).toEqual({ window: 8, flows: true, cumulative: false, textColumn: false });
    expect(policies.create('flowmm', { flowGuidance: false }, env).needs).toEqual({ window: 32, flows: false, cumulative: false, textColumn: true });
    expect(() => policies.create('flowmm', { theta: 2 }, env)).toThrow(/policies\.flowmm\.theta/);
    expect(() => policies.create('flowmm', { tau: 3 }, env)).toThrow(/policies\.flowmm\.tau is 3; in quantile mode/);
    expect(policies.create('flowmm', { tau: 3, tauMode: 'absolute' }, env).name).toBe('flowmm');
  });
});

function quantileOf(values: number[], q: number): number {
  const s = values.slice().sort((a, b) => a - b);
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(s.length - 1, lo + 1);
  return s[lo]! + (pos - lo) * (s[hi]! - s[lo]!);
}
