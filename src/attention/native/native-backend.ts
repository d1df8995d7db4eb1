/**
 * ComputeBackend over the native addon: the C++ SIMD kernels (`cpu`) or CUDA (`cuda`). Same
 * semantics as the TS reference; the addon validates every length, index and dtype and
 * throws a RangeError/TypeError naming the argument. Statistics come back as views into
 * flat per-head stripes (zero copy).
 */
import type { AttendArgs, AttendResult, ComputeBackend, LinearWeight } from '../backend.js';
import type { AttentionStats } from '../stats.js';
import { FLOW_STRIDE } from '../stats.js';
import type { NativeAddon, RawStats } from './addon.js';

/** Splits flat [kvHeads][stride] stripes into per-head views of lengths[h] (or `len`) entries. */
function perHead<T extends Float32Array | Float64Array>(flat: T | undefined, heads: number, stride: number, len: (h: number) => number): T[] | undefined {
  if (!flat) return undefined;
  const out: T[] = [];
  for (let h = 0; h < heads; h++) out.push(flat.subarray(h * stride, h * stride + len(h)) as T);
  return out;
}

/** Turns the addon's flat statistics into AttentionStats (per KV head arrays). */
export function unpackStats(raw: RawStats, args: AttendArgs): AttentionStats {
  const { kvHeads, capacity, lengths } = args.kv;
  const slot = (h: number): number => lengths[h]!;
  const stats: AttentionStats = { groupSize: args.qHeads / kvHeads, queries: args.n };
  const set = <K extends keyof AttentionStats>(k: K, v: AttentionStats[K] | undefined): void => {
    if (v !== undefined) stats[k] = v;
  };
  set('cumulative', perHead(raw.cumulative, kvHeads, capacity, slot));
  set('window', perHead(raw.window, kvHeads, capacity, slot));
  set('lastQuery', perHead(raw.lastQuery, kvHeads, capacity, slot));
  set('textColumn', perHead(raw.textColumn, kvHeads, capacity, slot));
  set('redistributed', perHead(raw.redistributed, kvHeads, capacity, slot));
  set('flows', perHead(raw.flows, kvHeads, FLOW_STRIDE * FLOW_STRIDE, () => FLOW_STRIDE * FLOW_STRIDE));
  set('rowEntropy', perHead(raw.rowEntropy, kvHeads, args.n, () => args.n));
  return stats;
}

export class NativeBackend implements ComputeBackend {
  readonly name: 'cpu' | 'cuda';

  /** addon: the loaded addon; device: which kernels attention runs on. */
  constructor(
    readonly addon: NativeAddon,
    device: 'cpu' | 'cuda' = 'cpu',
  ) {
    this.name = device;
  }

  attend(args: AttendArgs): AttendResult {
    if (!args || typeof args !== 'object') throw new TypeError('attend: args must be an AttendArgs object');
    const raw = this.name === 'cuda' ? this.addon.attendCuda(args) : this.addon.attend(args);
    return { out: raw.out, stats: unpackStats(raw.stats, args) };
  }

  linear(x: Float32Array, m: number, w: LinearWeight, bias?: Float32Array, out?: Float32Array): Float32Array {
    return this.addon.linear(x, m, w, bias, out);
  }

  rmsNorm(x: Float32Array, rows: number, dim: number, weight: Float32Array, eps: number, out?: Float32Array): Float32Array {
    return this.addon.rmsNorm(x, rows, dim, weight, eps, out);
  }

  rope(x: Float32Array, n: number, heads: number, headDim: number, rotaryDim: number, cos: Float32Array, sin: Float32Array): void {
    this.addon.rope(x, n, heads, headDim, rotaryDim, cos, sin);
  }

  siluMul(gate: Float32Array, up: Float32Array, out?: Float32Array): Float32Array {
    return this.addon.siluMul(gate, up, out);
  }
}
