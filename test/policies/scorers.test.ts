/**
 * The kvpress-era scorers on hand-built views: what each keeps and why (KeyDiff, LagKV,
 * ChunkKV, CriticalKV), checked against hand computations of their defining formulas.
 */
import { describe, expect, it } from 'vitest';
import { ModalityCode } from '../../src/cache/modality.js';
import { allocTokenMeta } from '../../src/cache/token-meta.js';
import { policies } from '../../src/policies/catalog.js';
import { chunkKeep, chunkStarts } from '../../src/policies/eviction/chunkkv.js';
import { projectedValueNorms } from '../../src/policies/eviction/criticalkv.js';
import { keyDiffScores } from '../../src/policies/eviction/keydiff.js';
import { lagKVScores } from '../../src/policies/eviction/lagkv.js';
import type { PolicyEnv } from '../../src/policies/registry.js';
import { makeCtx, makeStats, makeView } from './fixtures.js';

const env = (kvHeads: number, qHeads: number, headDim: number, wo?: { data: number[]; hidden: number }): PolicyEnv => ({
  numLayers: 1,
  kvHeads,
  qHeads,
  headDim,
  seed: 0,
  ...(wo ? { outputProjection: () => ({ dtype: 'f32' as const, data: Float32Array.from(wo.data), outFeatures: wo.hidden, inFeatures: qHeads * headDim }) } : {}),
});
const kept = (plan: ReturnType<ReturnType<typeof policies.create>['plan']>, h = 0) => Array.from(plan!.heads[h]!.keep);

describe('KeyDiff', () => {
  it('scores −cos(k, mean unit key), by hand', () => {
    const keys = [[2, 0], [0, 3], [1, 1]];
    const unit = keys.map(([a, b]) => [a! / Math.hypot(a!, b!), b! / Math.hypot(a!, b!)]);
    const anchor = [0, 1].map((c) => unit.reduce((s, u) => s + u[c]!, 0) / 3);
    const want = keys.map((k) => -(k[0]! * anchor[0]! + k[1]! * anchor[1]!) / (Math.hypot(k[0]!, k[1]!) * Math.hypot(anchor[0]!, anchor[1]!)));
    const got = keyDiffScores(makeView([{ keys }]), 0);
    want.forEach((w, i) => expect(got[i]).toBeCloseTo(w, 6));
  });
  it('keeps the keys that point away from the crowd, without any attention statistics', () => {
    // Six keys near +x, one along +y, one along −x: the last two are the distinctive ones.
    const keys = [[1, 0.1], [1, -0.1], [0.9, 0], [1.1, 0.05], [0, 1], [1, 0], [-1, 0], [1, 0.02]];
    const plan = policies.create('keydiff', {}, env(1, 1, 2)).plan(makeCtx(makeView([{ keys }]), makeStats({}), 2));
    expect(kept(plan)).toEqual([4, 6]);
    // Scale does not matter (cosine): the longest key along the crowd is still dropped.
    const scaled = keys.map((k, i) => (i === 3 ? [k[0]! * 50, k[1]! * 50] : k));
    expect(kept(policies.create('keydiff', {}, env(1, 1, 2)).plan(makeCtx(makeView([{ keys: scaled }]), makeStats({}), 2)))).toEqual([4, 6]);
  });
  it('window protects the most recent slots within the budget', () => {
    const keys = [[0, 1], [-1, 0], [1, 0], [1, 0], [1, 0.01]];
    expect(kept(policies.create('keydiff', { window: 1 }, env(1, 1, 2)).plan(makeCtx(makeView([{ keys }]), makeStats({}), 2)))).toEqual([1, 4]);
  });
});

describe('LagKV', () => {
  /** 1 sink, lag 3: partitions [1..3], [4..6] are scored; [7..9] (no successor) is the tail. */
  const o = { sinks: 1, lag: 3, crossScoring: false };
  const base = (i: number) => [Math.sin(i), Math.cos(2 * i), 0.5 * Math.sin(3 * i)];
  function head(deviant: number) {
    const rows = Array.from({ length: 10 }, (_, i) => base(i));
    rows[deviant] = [5, -5, 5]; // far outside the next partition's range, spread across channels
    return { keys: rows, values: rows.map((r) => r.map((x) => -x)) };
  }
  it('scores by the softmax of the std of min–max normalised channels, by hand (crossScoring)', () => {
    const view = makeView([head(2)]);
    const got = lagKVScores(view, 0, { ...o, crossScoring: true });
    const std = (x: number[]) => {
      const m = x.reduce((a, b) => a + b, 0) / x.length;
      return Math.sqrt(x.reduce((a, b) => a + (b - m) ** 2, 0) / (x.length - 1));
    };
    const part = (rows: number[][], start: number) => {
      const ref = rows.slice(start + 3, start + 6);
      const lo = [0, 1, 2].map((c) => Math.min(...ref.map((r) => r[c]!)));
      const hi = [0, 1, 2].map((c) => Math.max(...ref.map((r) => r[c]!)));
      const s = rows.slice(start, start + 3).map((r) => std(r.map((x, c) => (x - lo[c]!) / (hi[c]! - lo[c]!))));
      const z = s.reduce((a, b) => a + Math.exp(b), 0);
      return s.map((x) => Math.exp(x) / z);
    };
    const { keys, values } = head(2);
    const k = part(keys, 1);
    const v = part(values, 1);
    for (let t = 0; t < 3; t++) expect(got[1 + t]).toBeCloseTo((k[t]! + v[t]!) / 2, 5);
    expect(Array.from(got.subarray(7))).toEqual([1, 1, 1]);
    expect(got[0]).toBe(1);
  });
  it('keeps sinks and the tail, and from each partition its most lag-deviant token', () => {
    const plan = policies.create('lagkv', o, env(1, 1, 3)).plan(makeCtx(makeView([head(2)]), makeStats({}), 6));
    // Ranks are within-partition: each scored partition gives its best token (2 in [1..3]).
    const k = kept(plan);
    expect(k.filter((j) => j === 0 || j >= 7)).toEqual([0, 7, 8, 9]);
    expect(k.filter((j) => j >= 1 && j <= 3)).toEqual([2]);
    expect(k.filter((j) => j >= 4 && j <= 6)).toHaveLength(1);
    const moved = policies.create('lagkv', o, env(1, 1, 3)).plan(makeCtx(makeView([head(3)]), makeStats({}), 6));
    expect(kept(moved)).toContain(3);
    expect(kept(moved)).not.toContain(2);
  });
  it('a head shorter than sinks + 2·lag keeps its sinks and most recent slots', () => {
    const rows = Array.from({ length: 6 }, (_, i) => base(i));
    expect(kept(policies.create('lagkv', o, env(1, 1, 3)).plan(makeCtx(makeView([{ keys: rows }]), makeStats({}), 3)))).toEqual([0, 4, 5]);
  });
});

describe('ChunkKV', () => {
  const keys = Array.from({ length: 12 }, (_, i) => [Math.cos(i), Math.sin(i)]);
  //            chunk 0   chunk 1   chunk 2   chunk 3   (chunk 3 slots)
  const cum = [0, 0, 0, 5, 0, 0, 2, 2, 2, 0, 0, 1];
  const h2oChunks = (chunk: number) => policies.create('chunkkv', { scorer: 'h2o', chunk }, env(1, 1, 2));
  it('keeps whole chunks by mean score, where token top-k would scatter', () => {
    const view = makeView([{ keys, cumulative: cum }]);
    // Means: 0, 5/3, 2, 1/3 → chunks 2 and 1. Token-level top-6 would keep slot 11 and not 4, 5.
    expect(kept(h2oChunks(3).plan(makeCtx(view, makeStats({}), 6)))).toEqual([3, 4, 5, 6, 7, 8]);
    expect(kept(policies.create('h2o', { recentShare: 0 }, env(1, 1, 2)).plan(makeCtx(view, makeStats({}), 6)))).toContain(11);
  });
  it('fills the budget exactly: whole chunks, then the best slots of the next chunk', () => {
    const view = makeView([{ keys, cumulative: cum }]);
    expect(kept(h2oChunks(3).plan(makeCtx(view, makeStats({}), 4)))).toEqual([3, 6, 7, 8]);
    expect(chunkKeep(cum, [0, 3, 6, 9], 12, 12)).toEqual(Int32Array.from({ length: 12 }, (_, i) => i));
  });
  it('decides once per layer when the heads hold the same slots (scores summed over heads)', () => {
    const other = [0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 9, 9];
    const view = makeView([{ keys, cumulative: cum }, { keys, cumulative: other }]);
    // Sums: chunk means 0, 5/3, 2, 6+1/3 → chunks 3 and 2, for both heads.
    const plan = h2oChunks(3).plan(makeCtx(view, makeStats({}), 6));
    expect(kept(plan, 0)).toEqual([6, 7, 8, 9, 10, 11]);
    expect(kept(plan, 1)).toEqual(kept(plan, 0));
  });
  it('chunking: frame cuts at frame boundaries; text keeps fixed chunks', () => {
    const meta = allocTokenMeta(11);
    const { text, video } = ModalityCode;
    // text ×3, frame t=0 ×4, frame t=0.5 ×2, text ×2
    [text, text, text, video, video, video, video, video, video, text, text].forEach((m, i) => {
      meta.modality[i] = m;
      if (m === video) [meta.segment[i], meta.time[i]] = [0, i < 7 ? 0 : 0.5];
    });
    expect(chunkStarts(meta, 11, 2, 'frame')).toEqual([0, 2, 3, 7, 9]);
    expect(chunkStarts(meta, 11, 2, 'fixed')).toEqual([0, 2, 4, 6, 8, 10]);
  });
  it('rejects scorer options the chosen scorer does not have, naming the key', () => {
    expect(() => policies.create('chunkkv', { scorer: 'keydiff', scorerOptions: { window: 4 } }, env(1, 1, 2))).toThrow(/policies\.chunkkv\.scorerOptions: .*window.*scorer "keydiff"/);
  });
});

describe('CriticalKV', () => {
  // GQA: 1 KV head, 2 query heads, headDim 2, hidden 2. W_o [2][4]: query head 0 reads the first
  // two columns, query head 1 the last two.
  const wo = { data: [1, 0, 2, 0, 0, 0, 0, 3], hidden: 2 };
  it('‖W_o v‖₁ is averaged over the group’s query heads, by hand', () => {
    const view = makeView([{ keys: [[1, 0]], values: [[2, -1]] }], { groupSize: 2 });
    // head 0: W0 = [[1,0],[0,0]] → |2| + 0 = 2; head 1: W1 = [[2,0],[0,3]] → |4| + |−3| = 7.
    expect(projectedValueNorms(view, 0, Float32Array.from(wo.data), 2)[0]).toBeCloseTo((2 + 7) / 2, 6);
    expect(projectedValueNorms(view, 0, null, 0)[0]).toBe(3);
  });
  /** 7 slots, the last is the window (w = 1). Attention 0.5, 0.4, then 0.3 each. */
  const window = [[0.5, 0.4, 0.3, 0.3, 0.3, 0.3, 0.1]];
  const keys = Array.from({ length: 7 }, () => [1, 0]);
  it('stage 1 keeps the top share by attention, stage 2 weighs the rest by the projected value', () => {
    // Slot 2's value is large along the axis W_o amplifies; slot 1's lies where W_o is zero.
    const values = [[0.1, 0.1], [0, 10], [1, 0], [0.1, 0], [0.1, 0], [0.1, 0], [0.1, 0]];
    const view = makeView([{ keys, values }]);
    const opts = { window: 1, kernel: 1, firstStageRatio: 0.67 };
    const ctx = makeCtx(view, makeStats({ window }, 1), 3);
    // Budget 3: ⌊0.67·3⌋ = 2 by attention (window 6, slot 0); then slot 2 (its W_o v is large).
    expect(kept(policies.create('criticalkv', opts, { ...env(1, 1, 2), outputProjection: () => ({ dtype: 'f32', data: Float32Array.from([1, 0, 0, 0]), outFeatures: 2, inFeatures: 2 }) }).plan(ctx))).toEqual([0, 2, 6]);
    // With ‖v‖₁ alone slot 1 (norm 10) wins: the projection changes the decision.
    expect(kept(policies.create('criticalkv', { ...opts, projection: 'value' }, env(1, 1, 2)).plan(ctx))).toEqual([0, 1, 6]);
    // SnapKV would keep the two best-attended slots.
    expect(kept(policies.create('snapkv', { window: 1, kernel: 1 }, env(1, 1, 2)).plan(ctx))).toEqual([0, 1, 6]);
  });
  it('needs the model’s o_proj for projection: output, and says so', () => {
    const p = policies.create('criticalkv', { window: 1, kernel: 1 }, env(1, 1, 2));
    expect(() => p.plan(makeCtx(makeView([{ keys }]), makeStats({ window }, 1), 3))).toThrow(/criticalkv: projection "output" needs the model’s o_proj weights \(PolicyEnv\.outputProjection\)/);
    const bad = policies.create('criticalkv', { window: 1, kernel: 1 }, { ...env(1, 1, 2), outputProjection: () => ({ dtype: 'f32', data: new Float32Array(6), outFeatures: 2, inFeatures: 3 }) });
    expect(() => bad.plan(makeCtx(makeView([{ keys }]), makeStats({ window }, 1), 3))).toThrow(/outputProjection\(0\) has 3 input features; expected qHeads·headDim = 2/);
  });
});

describe('ExpectedAttention', () => {
  // headDim 2 = one rotating pair with angle position·θ (1-D rotate-half RoPE).
  const theta = 0.3;
  const rope = { rotaryDim: 2, axes: 1, inverseFrequencies: () => Float64Array.from([theta]) };
  const rot = ([a, b]: number[], p: number) => [a! * Math.cos(p * theta) - b! * Math.sin(p * theta), b! * Math.cos(p * theta) + a! * Math.sin(p * theta)];
  const eaEnv: PolicyEnv = { ...env(1, 1, 2), rope };
  /** Recent queries: pre-RoPE rows, RoPE-applied at positions 20.. as the session stores them. */
  const recentOf = (pre: number[][]) => ({ q: Float32Array.from(pre.flatMap((q, i) => rot(q, 20 + i))), positions: Int32Array.from(pre.map((_, i) => 20 + i)) });
  const keys = [[1, 0], [0.2, 0.1], [0, 1], [-1, 0], [0.7, 0.7], [0.1, -1]];

  it('un-rotates the stored queries and rotates their mean to the future position, by hand', () => {
    const q = [0.8, -0.5];
    const stats = makeStats({}, 4);
    stats.recentQueries = recentOf([q, q, q, q]);
    const o = { window: 4, futurePositions: 1, sinks: 0, covariance: 'none' as const, valueNorm: false, epsilon: 0 };
    const plan = policies.create('expected-attention', o, eaEnv);
    expect(plan.needs).toEqual({ recentQueries: 4 });
    // One future position (24): E[logit_j] = k_j · R_24 q / √2, softmax over the slots.
    const fq = rot(q, 24);
    const z = keys.map((k) => (k[0]! * fq[0]! + k[1]! * fq[1]!) / Math.SQRT2);
    const e = z.map((x) => Math.exp(x));
    const want = e.map((x) => x / e.reduce((a, b) => a + b, 0));
    const ctx = makeCtx(makeView([{ keys }]), stats, 2);
    const kept0 = kept(plan.plan(ctx));
    expect(kept0).toEqual(want.map((w, j) => [w, j] as const).sort((a, b) => b[0] - a[0]).slice(0, 2).map(([, j]) => j).sort());
  });
  it('the covariance term favours keys along the direction where queries vary', () => {
    // Queries with zero mean, spread along the pre-RoPE x axis; F = 1 at position 24.
    const stats = makeStats({}, 4);
    stats.recentQueries = recentOf([[2, 0], [-2, 0], [2, 0], [-2, 0]]);
    const along = rot([1, 0], 24); // where the future queries vary
    const across = rot([0, 1], 24);
    const view = makeView([{ keys: [along, across, across.map((x) => -x), along.map((x) => -x)] }]);
    const o = { window: 4, futurePositions: 1, sinks: 0, valueNorm: false };
    expect(kept(policies.create('expected-attention', { ...o, covariance: 'full' }, eaEnv).plan(makeCtx(view, stats, 2)))).toEqual([0, 3]);
    expect(kept(policies.create('expected-attention', { ...o, covariance: 'diagonal' }, eaEnv).plan(makeCtx(view, stats, 2)))).toEqual([0, 3]);
    // Mean only: every key scores the same; ties keep the lowest slots.
    expect(kept(policies.create('expected-attention', { ...o, covariance: 'none' }, eaEnv).plan(makeCtx(view, stats, 2)))).toEqual([0, 1]);
  });
  it('keeps the sinks, weighs by ‖v‖, and needs the model’s RoPE', () => {
    const stats = makeStats({}, 2);
    stats.recentQueries = recentOf([[1, 0], [1, 0.1]]);
    const values = keys.map((_, j) => (j === 3 ? [40, 0] : [1, 0]));
    const view = makeView([{ keys, values }]);
    // Slot 3's key points away from the queries, but its value is 40× larger.
    expect(kept(policies.create('expected-attention', { sinks: 1, futurePositions: 1 }, eaEnv).plan(makeCtx(view, stats, 2)))).toEqual([0, 3]);
    // keepRecent protects the last slots before any score counts.
    expect(kept(policies.create('expected-attention', { sinks: 1, futurePositions: 1, keepRecent: 1 }, eaEnv).plan(makeCtx(view, stats, 2)))).toEqual([0, 5]);
    expect(() => policies.create('expected-attention', {}, env(1, 1, 2)).plan(makeCtx(view, stats, 2))).toThrow(/needs the model’s RoPE \(PolicyEnv\.rope\)/);
    expect(() => policies.create('expected-attention', {}, { ...eaEnv, rope: { ...rope, axes: 3 } }).plan(makeCtx(view, stats, 2))).toThrow(/only 1-D RoPE/);
  });
});

describe('MadaKV', () => {
  const { text, video, audio } = ModalityCode;
  // text ×2, video ×5, audio ×4, then the window slot (text).
  const modality = [text, text, video, video, video, video, video, audio, audio, audio, audio, text];
  const keys = modality.map((_, i) => [Math.cos(i), Math.sin(i)]);
  const window = modality.map((_, i) => 1 + ((i * 7) % 5) / 10);
  /** flows of one head: mass from text queries to [text, image, video, audio]. */
  const flows = (toText: number, toVideo: number, toAudio: number) => {
    const f = new Float64Array(16);
    [f[text * 4 + text], f[text * 4 + video], f[text * 4 + audio]] = [toText, toVideo, toAudio];
    f[video * 4 + audio] = 100; // media-to-media mass does not count: the preference is the text queries'
    return f;
  };
  const count = (slots: number[], m: number) => slots.filter((j) => j < 11 && modality[j] === m).length;
  it('splits each head’s budget between modalities by the attention its text queries give them', () => {
    const view = makeView([{ keys, modality }, { keys, modality }]);
    const stats = makeStats({ window: [window, window] }, 12);
    stats.flows = [flows(0, 3, 1), flows(0, 1, 3)];
    const plan = policies.create('madakv', { window: 1, kernel: 1 }, env(2, 2, 2)).plan(makeCtx(view, stats, 5));
    const [h0, h1] = [kept(plan, 0), kept(plan, 1)];
    // Budget 5 = the window slot + 4 split 3:1 (head 0, video-preferring) and 1:3 (head 1).
    expect([count(h0, video), count(h0, audio), count(h0, text)]).toEqual([3, 1, 0]);
    expect([count(h1, video), count(h1, audio), count(h1, text)]).toEqual([1, 3, 0]);
    expect(h0).toContain(11);
    // Within a modality the best window scores win: head 0's audio pick is the best-scored audio slot.
    const bestAudio = [7, 8, 9, 10].sort((a, b) => window[b]! - window[a]! || a - b)[0]!;
    expect(h0.filter((j) => modality[j] === audio)).toEqual([bestAudio]);
  });
  it('a quota larger than its modality spills to the best remaining slots', () => {
    const view = makeView([{ keys, modality }]);
    const stats = makeStats({ window: [window] }, 12);
    stats.flows = [flows(1, 0, 0)]; // all preference on text, which has only 2 prefix slots
    const k = kept(policies.create('madakv', { window: 1, kernel: 1 }, env(1, 1, 2)).plan(makeCtx(view, stats, 6)));
    expect(k).toHaveLength(6);
    expect(count(k, text)).toBe(2);
  });
});
