/**
 * Hand-built layers for the method tests (not a test file): a LayerView over explicit keys,
 * values and metadata, and AttentionStats computed from an explicit attention matrix with the
 * definitions of src/attention/stats.ts (prefill: query i is slot i at position i). A test in
 * fixture.test.ts checks these statistics against the reference kernel, so hand-set matrices
 * stand for what the kernels would report.
 */
import { FLOW_STRIDE, type AttentionStats } from '../../src/attention/stats.js';
import { ModalityCode } from '../../src/cache/modality.js';
import { allocTokenMeta, type TokenMeta } from '../../src/cache/token-meta.js';
import type { LayerView, Phase, PolicyContext } from '../../src/cache/policy-api.js';
import { mulberry32 } from '../../src/util/random.js';

export interface HeadInput {
  /** [len][headDim] f32 */
  keys: Float32Array;
  /** [len][headDim] f32 (default: keys) */
  values?: Float32Array;
  /** attention[i][j], query i → slot j, group-summed; rows of length len. */
  attention: number[][];
}

export interface LayerInput {
  layer?: number;
  headDim: number;
  /** ModalityCode per slot. */
  modality: number[];
  heads: HeadInput[];
  groupSize?: number;
  /** Grid coordinates / segment per slot (default -1). */
  row?: number[];
  col?: number[];
  segment?: number[];
  /** Window of the `window` statistic (default 32). */
  window?: number;
}

export function buildLayer(input: LayerInput): { view: LayerView; stats: AttentionStats; meta: TokenMeta } {
  const len = input.modality.length;
  const meta = allocTokenMeta(len);
  for (let j = 0; j < len; j++) {
    meta.position[j] = j;
    meta.modality[j] = input.modality[j]!;
    if (input.row) meta.row[j] = input.row[j]!;
    if (input.col) meta.col[j] = input.col[j]!;
    if (input.segment) meta.segment[j] = input.segment[j]!;
  }
  const stats = statsFromAttention(input.heads.map((h) => h.attention), input.modality, input.window ?? 32, input.groupSize ?? 1);
  const view: LayerView = {
    layer: input.layer ?? 0,
    kvHeads: input.heads.length,
    headDim: input.headDim,
    groupSize: input.groupSize ?? 1,
    length: () => len,
    keys: (h) => input.heads[h]!.keys,
    values: (h) => input.heads[h]!.values ?? input.heads[h]!.keys,
    meta: () => meta,
    accumulated: () => ({}),
  };
  return { view, stats, meta };
}

/** Every statistic of stats.ts from per-head attention matrices (prefill, n = len queries); rowEntropy is exact for groupSize 1. */
export function statsFromAttention(perHead: number[][][], modality: number[], window: number, groupSize: number): AttentionStats {
  const n = modality.length;
  const stats: AttentionStats = { groupSize, queries: n, cumulative: [], window: [], lastQuery: [], textColumn: [], redistributed: [], flows: [], rowEntropy: [] };
  for (const a of perHead) {
    const cum = new Float32Array(n);
    const win = new Float32Array(n);
    const text = new Float32Array(n);
    const red = new Float32Array(n);
    const flows = new Float64Array(FLOW_STRIDE * FLOW_STRIDE);
    const ent = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let h = 0;
      for (let j = 0; j < n; j++) {
        const p = a[i]![j]!;
        cum[j] += p;
        if (i >= n - window) win[j] += p;
        if (modality[i] === ModalityCode.text) text[j] += p;
        if (j <= i) red[j] += (p * (i + 1)) / (n - j);
        flows[modality[i]! * FLOW_STRIDE + modality[j]!] += p;
        if (p > 0) h -= p * Math.log(p);
      }
      ent[i] = h;
    }
    stats.cumulative!.push(cum);
    stats.window!.push(win);
    stats.lastQuery!.push(Float32Array.from(a[n - 1]!));
    stats.textColumn!.push(text);
    stats.redistributed!.push(red);
    stats.flows!.push(flows);
    stats.rowEntropy!.push(ent);
  }
  return stats;
}

export function context(view: LayerView, stats: AttentionStats, o: { budget: number; phase?: Phase; layer?: number; numLayers?: number }): PolicyContext {
  return {
    view,
    stats,
    phase: o.phase ?? 'prefill',
    layer: o.layer ?? view.layer,
    numLayers: o.numLayers ?? 1,
    step: 0,
    promptLength: view.length(0),
    budget: o.budget,
    queryAware: true,
    random: mulberry32(1),
  };
}

/** Causal attention from per-row weights w(i, j) ≥ 0 (normalised over j ≤ i). */
export function causalFromWeights(n: number, w: (i: number, j: number) => number): number[][] {
  return Array.from({ length: n }, (_, i) => {
    const row = Array.from({ length: n }, (_, j) => (j <= i ? w(i, j) : 0));
    const s = row.reduce((x, y) => x + y, 0);
    return row.map((x) => (s > 0 ? x / s : 0));
  });
}

/** Causal softmax attention of keys with themselves as queries (scale 1/√d). keys [n][d]. */
export function selfAttention(keys: Float32Array, d: number): number[][] {
  const n = keys.length / d;
  return causalFromWeights(n, (i, j) => {
    let dot = 0;
    for (let t = 0; t < d; t++) dot += keys[i * d + t]! * keys[j * d + t]!;
    return Math.exp(dot / Math.sqrt(d));
  });
}

/** Seeded Gaussian-ish [n][d] f32 (sum of uniforms). */
export function randomRows(n: number, d: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n * d }, () => r() + r() + r() - 1.5);
}

export function cosine(a: Float32Array, ia: number, b: Float32Array, ib: number, d: number): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let t = 0; t < d; t++) {
    const x = a[ia * d + t]!;
    const y = b[ib * d + t]!;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return dot / Math.sqrt(na * nb);
}

export const { text: T, image: I, video: V, audio: A } = ModalityCode;
