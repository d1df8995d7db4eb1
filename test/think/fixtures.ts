/**
 * A layer cache whose older keys are pruned along head_dim (ThinK), with the whole keys kept
 * aside, so tests can check storage, bytes and attention against the definition.
 */
import type { KVDType } from '../../src/attention/backend.js';
import { LayerCache } from '../../src/cache/layer-cache.js';
import { allocTokenMeta } from '../../src/cache/token-meta.js';
import { decodeToF32, encodeFromF32, allocKV } from '../../src/util/half.js';
import { mulberry32 } from '../../src/util/random.js';

export interface PrunedCase {
  kvHeads: number;
  headDim: number;
  dtype: KVDType;
  /** Tokens appended before the pruning plan. */
  prefill: number;
  /** Slots each head keeps (ascending indices drawn at random), one entry per head. */
  kept: number[];
  /** Channels each head keeps. */
  keyDim: number;
  recent: number;
  /** Tokens appended after pruning (decode-time keys stay whole). */
  later: number;
}

/** Values the dtype stores exactly (so expectations need no rounding model). */
function representable(x: Float32Array, dtype: KVDType): Float32Array {
  const b = allocKV(dtype, x.length);
  encodeFromF32(x, dtype, b, 0);
  return decodeToF32(b, dtype, 0, x.length);
}

export interface BuiltPruned {
  cache: LayerCache;
  /** [kvHeads] whole keys [len][headDim] of the slots the cache now holds, in slot order. */
  keys: Float32Array[];
  values: Float32Array[];
  /** [kvHeads] kept channels. */
  channels: Int32Array[];
  /** [kvHeads] pruned slots (the oldest). */
  split: number[];
}

export function buildPruned(c: PrunedCase, seed: number): BuiltPruned {
  const rand = mulberry32(seed);
  const { kvHeads, headDim: d, dtype } = c;
  const cache = new LayerCache({ layer: 3, kvHeads, headDim: d, dtype, initialCapacity: 2 });
  const tokens = (n: number, from: number) => {
    const k = representable(Float32Array.from({ length: n * kvHeads * d }, () => rand() * 2 - 1), dtype);
    const v = representable(Float32Array.from({ length: n * kvHeads * d }, () => rand() * 2 - 1), dtype);
    const meta = allocTokenMeta(n);
    for (let i = 0; i < n; i++) meta.position[i] = from + i;
    cache.append(k, v, meta);
    return { k, v };
  };
  const row = (x: Float32Array, t: number, h: number) => x.subarray((t * kvHeads + h) * d, (t * kvHeads + h + 1) * d);
  const first = tokens(c.prefill, 0);
  const keep = c.kept.map((count) => {
    const all = Array.from({ length: c.prefill }, (_, i) => i);
    for (let i = all.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [all[i], all[j]] = [all[j]!, all[i]!];
    }
    return Int32Array.from(all.slice(0, count)).sort();
  });
  const channels = Array.from({ length: kvHeads }, () => {
    const all = Array.from({ length: d }, (_, i) => i).sort(() => rand() - 0.5);
    return Int32Array.from(all.slice(0, c.keyDim)).sort();
  });
  cache.apply({ heads: keep.map((k) => ({ keep: k })), keyChannels: { channels, recent: c.recent } });
  const later = tokens(c.later, c.prefill);
  const keys = keep.map((k, h) => concatRows([...Array.from(k, (t) => row(first.k, t, h)), ...Array.from({ length: c.later }, (_, t) => row(later.k, t, h))]));
  const values = keep.map((k, h) => concatRows([...Array.from(k, (t) => row(first.v, t, h)), ...Array.from({ length: c.later }, (_, t) => row(later.v, t, h))]));
  const split = keep.map((k) => Math.max(0, k.length - c.recent));
  return { cache, keys, values, channels, split };
}

function concatRows(rows: Float32Array[]): Float32Array {
  const out = new Float32Array(rows.reduce((s, r) => s + r.length, 0));
  let at = 0;
  for (const r of rows) {
    out.set(r, at);
    at += r.length;
  }
  return out;
}
