/**
 * Hand-built layer views and statistics for policy tests, plus a reference applier of
 * MergeOps that follows the formula documented on MergeOp (src/policies/types.ts).
 */
import type { AttentionStats } from '../../src/attention/stats.js';
import { allocTokenMeta, type TokenMeta } from '../../src/cache/token-meta.js';
import type { LayerView, MergeOp, PolicyContext } from '../../src/cache/policy-api.js';
import { mulberry32 } from '../../src/util/random.js';

export interface HeadSpec {
  /** [len][headDim] */
  keys: number[][];
  values?: number[][];
  modality?: number[];
  cumulative?: number[];
}

/** A LayerView over explicit per-head arrays (positions 0..len-1 unless meta is given). */
export function makeView(heads: HeadSpec[], opts: { layer?: number; groupSize?: number } = {}): LayerView {
  const headDim = heads[0]?.keys[0]?.length ?? 1;
  const keys = heads.map((h) => Float32Array.from(h.keys.flat()));
  const values = heads.map((h) => Float32Array.from((h.values ?? h.keys).flat()));
  const metas: TokenMeta[] = heads.map((h) => {
    const m = allocTokenMeta(h.keys.length);
    for (let i = 0; i < h.keys.length; i++) {
      m.position[i] = i;
      m.modality[i] = h.modality?.[i] ?? 0;
    }
    return m;
  });
  return {
    layer: opts.layer ?? 0,
    kvHeads: heads.length,
    headDim,
    groupSize: opts.groupSize ?? 1,
    length: (h) => heads[h]!.keys.length,
    keys: (h) => keys[h]!,
    values: (h) => values[h]!,
    meta: (h) => metas[h]!,
    accumulated: (h) => (heads[h]!.cumulative ? { cumulative: Float32Array.from(heads[h]!.cumulative!) } : {}),
  };
}

/** Random keys [len][dim] per head with the given modality codes. */
export function randomHeads(kvHeads: number, len: number, dim: number, seed: number, modality?: number[]): HeadSpec[] {
  const r = mulberry32(seed);
  return Array.from({ length: kvHeads }, () => ({
    keys: Array.from({ length: len }, () => Array.from({ length: dim }, () => r() * 2 - 1)),
    values: Array.from({ length: len }, () => Array.from({ length: dim }, () => r() * 2 - 1)),
    modality: modality ?? new Array<number>(len).fill(0),
    cumulative: Array.from({ length: len }, () => r()),
  }));
}

export function makeStats(perHead: Partial<Record<'cumulative' | 'window' | 'lastQuery' | 'textColumn', number[][]>>, queries = 1, groupSize = 1): AttentionStats {
  const s: AttentionStats = { groupSize, queries };
  for (const [k, v] of Object.entries(perHead)) (s as unknown as Record<string, Float32Array[]>)[k] = v!.map((a) => Float32Array.from(a));
  return s;
}

export function makeCtx(view: LayerView, stats: AttentionStats, budget: number, extra: Partial<PolicyContext> = {}): PolicyContext {
  return {
    view,
    stats,
    phase: 'prefill',
    layer: view.layer,
    numLayers: 1,
    step: 0,
    promptLength: view.length(0),
    budget,
    queryAware: true,
    random: mulberry32(7),
    ...extra,
  };
}

/**
 * Applies merges to rows x [len][dim] with slot weights w, reading x before the plan:
 * normalize (default): x[t] = (selfCoef·x[t] + Σ coef_i·x[from_i]) / (selfCoef + Σ coef_i),
 * coefficients defaulting to the slot weights; otherwise the plain sum (selfCoef default 1).
 */
export function applyMergesReference(x: number[][], w: number[], ops: MergeOp[]): number[][] {
  const out = x.map((r) => r.slice());
  for (const op of ops) {
    const norm = op.normalize ?? true;
    const self = op.selfCoef ?? (norm ? w[op.into]! : 1);
    const acc = x[op.into]!.map((v) => v * self);
    let den = self;
    for (let i = 0; i < op.from.length; i++) {
      const f = op.from[i]!;
      const c = op.coef ? op.coef[i]! : w[f]!;
      for (let d = 0; d < acc.length; d++) acc[d] += c * x[f]![d]!;
      den += c;
    }
    out[op.into] = norm ? acc.map((v) => v / den) : acc;
  }
  return out;
}
