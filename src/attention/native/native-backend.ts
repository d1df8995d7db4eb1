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
import { kernelLayout } from './coded-layout.js';
import { statsToSlotOrder, storageOrderLayout } from './tier-order.js';

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

/**
 * The flat [kvHeads][stride] array behind per-head views this backend returned, when it still
 * has exactly `total` entries (the cache may have grown since); else undefined.
 */
function flatBehind<T extends Float32Array | Float64Array>(views: T[] | undefined, total: number, make: (b: ArrayBufferLike, n: number) => T): T | undefined {
  const v0 = views?.[0];
  if (!v0 || v0.byteOffset !== 0 || v0.buffer.byteLength !== total * v0.BYTES_PER_ELEMENT) return undefined;
  if (!views!.every((v) => v.buffer === v0.buffer)) return undefined;
  return make(v0.buffer, total);
}

/** RawStats to overwrite, from statistics an earlier call returned (see AttendArgs.reuse). */
export function reusableStats(reuse: AttentionStats | undefined, args: AttendArgs): RawStats | undefined {
  if (!reuse) return undefined;
  const { kvHeads, capacity } = args.kv;
  const slots = kvHeads * capacity;
  const f32 = (b: ArrayBufferLike, n: number) => new Float32Array(b, 0, n);
  // An undefined entry is absent for the addon: it allocates that statistic afresh.
  return {
    cumulative: flatBehind(reuse.cumulative, slots, f32),
    window: flatBehind(reuse.window, slots, f32),
    lastQuery: flatBehind(reuse.lastQuery, slots, f32),
    textColumn: flatBehind(reuse.textColumn, slots, f32),
    redistributed: flatBehind(reuse.redistributed, slots, f32),
    flows: flatBehind(reuse.flows, kvHeads * FLOW_STRIDE * FLOW_STRIDE, (b, n) => new Float64Array(b, 0, n)),
    rowEntropy: flatBehind(reuse.rowEntropy, kvHeads * args.n, f32),
  };
}

export class NativeBackend implements ComputeBackend {
  readonly name: 'cpu' | 'cuda';
  /** The CPU kernels read int8-fp8 / int4 / int2 codes; CUDA gets a decoded f32 copy (coded-layout.ts). */
  readonly readsCoded: boolean;

  /** addon: the loaded addon; device: which kernels attention runs on. */
  constructor(
    readonly addon: NativeAddon,
    device: 'cpu' | 'cuda' = 'cpu',
  ) {
    this.name = device;
    this.readsCoded = device === 'cpu';
  }

  /** Threads of the native pool (one pool per process, shared by every NativeBackend). */
  get threads(): number {
    return this.addon.info().threads;
  }

  /** Resizes the native pool (process-wide); threads: an integer ≥ 1. */
  setThreads(threads: number): void {
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`NativeBackend.setThreads: threads must be an integer ≥ 1; got ${threads}`);
    this.addon.setThreads(threads);
  }

  attend(args: AttendArgs): AttendResult {
    if (!args || typeof args !== 'object') throw new TypeError('attend: args must be an AttendArgs object');
    const { reuse, kv, ...rest } = args;
    // A tier by score reaches the CPU kernels in row order (tier-order.ts); CUDA gets a slot-order copy.
    const layout = storageOrderLayout(kernelLayout(kv, this.name === 'cpu'));
    const call = reuse ? { ...rest, kv: layout, statsInto: reusableStats(reuse, args) } : { ...rest, kv: layout };
    const raw = this.name === 'cuda' ? this.addon.attendCuda(call) : this.addon.attend(call);
    statsToSlotOrder(raw.stats, layout);
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
