/**
 * Loads the native addon (build/Release/kvprism.node, built by `npm install` through
 * scripts/build-native.mjs) once, and types its surface. Absent or unloadable addons are not
 * errors here: `loadAddon()` returns undefined and `addonLoadError()` says why.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AttendArgs, KVBuffer, KVDType, KVLayout } from '../backend.js';
import type { RawKVLayout } from './coded-layout.js';

/** Raw statistics as the addon returns them: flat per-head stripes. */
export interface RawStats {
  /** [kvHeads][capacity] slot-aligned (first lengths[h] entries of each stripe are valid). */
  cumulative?: Float32Array;
  window?: Float32Array;
  lastQuery?: Float32Array;
  textColumn?: Float32Array;
  redistributed?: Float32Array;
  /** [kvHeads][M*M] */
  flows?: Float64Array;
  /** [kvHeads][n] */
  rowEntropy?: Float32Array;
}

/**
 * AttendArgs as the addon takes them: a quantized layer's codes as arrays (RawKVLayout, built
 * by coded-layout.ts kernelLayout; a KVLayout carrying a CodedKV object is refused with a
 * RangeError); `statsInto` holds flat arrays of earlier calls to overwrite.
 */
export type RawAttendArgs = Omit<AttendArgs, 'kv'> & { kv: KVLayout | RawKVLayout; statsInto?: RawStats };

export interface AddonInfo {
  /** Instruction set of the CPU kernels: avx512 | avx2 | neon | scalar. */
  isa: string;
  threads: number;
  cuda: { built: boolean; devices: number; device: string };
}

export interface NativeAddon {
  attend(args: RawAttendArgs): { out: Float32Array; stats: RawStats };
  attendCuda(args: RawAttendArgs): { out: Float32Array; stats: RawStats };
  linear(x: Float32Array, m: number, w: { dtype: KVDType; data: KVBuffer; outFeatures: number; inFeatures: number }, bias?: Float32Array, out?: Float32Array): Float32Array;
  rmsNorm(x: Float32Array, rows: number, dim: number, weight: Float32Array, eps: number, out?: Float32Array): Float32Array;
  rope(x: Float32Array, n: number, heads: number, headDim: number, rotaryDim: number, cos: Float32Array, sin: Float32Array): void;
  siluMul(gate: Float32Array, up: Float32Array, out?: Float32Array): Float32Array;
  /** In-place: head `head`'s rows ← rows keep[s] (keep strictly increasing). rows [heads][capacity][rowElems]. */
  compact(rows: Float32Array | Uint16Array | Int32Array | Uint8Array, rowElems: number, heads: number, capacity: number, head: number, keep: Int32Array): void;
  /** rows[into] = Σ weights[k]·rows[from[k]]; rows [slots][dim] of dtype. */
  merge(rows: KVBuffer, dtype: KVDType, slots: number, dim: number, into: number, from: Int32Array, weights: Float32Array): void;
  nearestCosine(x: KVBuffer, xDtype: KVDType, n: number, pivots: KVBuffer, pivotDtype: KVDType, m: number, dim: number): { index: Int32Array; similarity: Float32Array };
  topK(scores: Float32Array, k: number): Int32Array;
  info(): AddonInfo;
  setThreads(threads: number): void;
  setIsa(name: string): void;
  /** STREAM-like triad over 3 arrays of `mib` MiB on the pool's threads; best GB/s of reps. */
  streamTriad(mib: number, reps: number): number;
  /** Read-only sweep over one array of `mib` MiB (decode attention's traffic); best GB/s of reps. */
  streamRead(mib: number, reps: number): number;
  /**
   * Asks the OS to back the buffer's 2 MiB-aligned interior with huge pages (Linux THP; call
   * before first writing it). Returns the bytes advised (0: too small, unsupported or refused).
   */
  adviseHugePages(buffer: ArrayBufferView): number;
  /**
   * A zeroed buffer of `bytes` starting on a 2 MiB boundary, on huge pages where the OS has
   * them (kvp_alloc_kv); freed when collected. Throws a RangeError when bytes is out of range
   * or memory is short.
   */
  allocKV(bytes: number): ArrayBuffer;
  /**
   * DRAM–flash tier (kvprism.h kvp_tier_*): a scratch file created in `dir` and unlinked at once,
   * mapped over maxBytes of address space. Throws a RangeError naming dir when it cannot be made.
   */
  tierOpen(dir: string, maxBytes: number): TierHandle;
  /** A new region of the file (disk reserved now: a full disk throws here) as an ArrayBuffer over the mapping. */
  tierAlloc(file: TierHandle, bytes: number): ArrayBuffer;
  /** Returns a region's disk (later reads see zeros). */
  tierRelease(file: TierHandle, buffer: ArrayBuffer): void;
  /** madvise(WILLNEED) over the view's bytes: the OS reads them ahead of use. */
  tierPrefetch(view: ArrayBufferView): void;
  /** Bytes of the file's live regions. */
  tierLiveBytes(file: TierHandle): number;
  /** Writes the file's pages back and drops them from memory, so later reads come from the device (benchmarks). */
  tierEvict(file: TierHandle): void;
  /** Returns all the file's disk; the mapping goes when the handle and its buffers are collected. */
  tierClose(file: TierHandle): void;
}

/** An open tier file of the addon (opaque). */
export interface TierHandle {
  readonly __tierFile: unique symbol;
}

let cached: NativeAddon | undefined;
let loadError: string | undefined;
let tried = false;

/** Candidate addon paths: the package root's build/Release (from src/ or dist/). */
function candidates(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = join(here, '..', '..', '..');
  const out = [join(root, 'build', 'Release', 'kvprism.node')];
  if (process.env.KVPRISM_ADDON) out.unshift(process.env.KVPRISM_ADDON);
  return out;
}

/** The addon, or undefined when it is not built or fails to load (see addonLoadError). */
export function loadAddon(): NativeAddon | undefined {
  if (tried) return cached;
  tried = true;
  const require = createRequire(import.meta.url);
  for (const path of candidates()) {
    if (!existsSync(path)) continue;
    try {
      cached = require(path) as NativeAddon;
      return cached;
    } catch (err) {
      loadError = `${path}: ${err instanceof Error ? err.message : String(err)}`;
      return undefined;
    }
  }
  loadError = `no addon at ${candidates().join(' or ')} (run \`npm run build:native\`)`;
  return undefined;
}

/** Why loadAddon() returned undefined (undefined when it loaded). */
export function addonLoadError(): string | undefined {
  loadAddon();
  return loadError;
}
