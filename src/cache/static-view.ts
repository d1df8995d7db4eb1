/**
 * A LayerView over plain per-head arrays: for policy tests with hand-built caches (ragged head
 * lengths, chosen metadata) and for tools that inspect saved caches. Validates shapes once.
 */
import type { LayerView } from './policy-api.js';
import { validateTokenMeta, type TokenMeta } from './token-meta.js';

export interface StaticHead {
  /** [len][headDim] f32 */
  keys: Float32Array;
  /** [len][headDim] f32 */
  values: Float32Array;
  /** len slots */
  meta: TokenMeta;
  /** [len] accumulated cumulative attention, when the test wants one. */
  cumulative?: Float32Array;
}

export interface StaticViewSpec {
  layer?: number;
  headDim: number;
  /** Query heads per KV head (default 1). */
  groupSize?: number;
  /** One entry per KV head. */
  heads: StaticHead[];
}

export function staticLayerView(spec: StaticViewSpec): LayerView {
  const { headDim, heads } = spec;
  const layer = spec.layer ?? 0;
  const where = `staticLayerView(layer ${layer})`;
  if (!Number.isInteger(headDim) || headDim < 1) throw new RangeError(`${where}: headDim must be an integer ≥ 1; got ${headDim}`);
  if (!Array.isArray(heads) || heads.length < 1) throw new RangeError(`${where}: heads must list at least one KV head`);
  const lens = heads.map((hd, h) => {
    const len = validateTokenMeta(hd.meta, `${where}: heads[${h}].meta`);
    for (const f of ['keys', 'values'] as const) {
      if (!(hd[f] instanceof Float32Array) || hd[f].length !== len * headDim) {
        throw new RangeError(`${where}: heads[${h}].${f} must be a Float32Array [len][headDim] = ${len}×${headDim}; got ${hd[f]?.length}`);
      }
    }
    if (hd.cumulative && hd.cumulative.length !== len) throw new RangeError(`${where}: heads[${h}].cumulative must have len = ${len} entries`);
    return len;
  });
  const head = (h: number): StaticHead => {
    const hd = heads[h];
    if (!hd) throw new RangeError(`${where}: kv head ${h} is outside [0, ${heads.length})`);
    return hd;
  };
  return {
    layer,
    kvHeads: heads.length,
    headDim,
    groupSize: spec.groupSize ?? 1,
    length: (h) => (head(h), lens[h]!),
    keys: (h) => head(h).keys,
    values: (h) => head(h).values,
    meta: (h) => head(h).meta,
    accumulated: (h) => (head(h).cumulative ? { cumulative: head(h).cumulative } : {}),
  };
}
