/**
 * Argument checks shared by every attention backend: the reference runs them, and the native
 * bindings run the same checks before touching memory. Errors name the argument, what was
 * found and the expected form.
 */
import type { AttendArgs, KVLayout } from './backend.js';
import type { StatNeeds } from './stats.js';
import { NUM_MODALITIES } from '../cache/modality.js';
import { checkPrunedKeys } from './pruned-keys.js';

/** Shape facts derived from validated AttendArgs. */
export interface AttendShape {
  n: number;
  qHeads: number;
  kvHeads: number;
  headDim: number;
  capacity: number;
  /** Query heads per KV head. */
  group: number;
  /** Window of query tokens used by `needs.window` (min(w, n)); 0 when off. */
  window: number;
}

function fail(what: string): never {
  throw new RangeError(`attend: ${what}`);
}

function checkCount(name: string, x: unknown, min: number): number {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < min) fail(`${name} must be an integer ≥ ${min}; got ${String(x)}`);
  return x;
}

/** Validates the KV layout alone (also used by caches before exposing one). */
export function validateKVLayout(kv: KVLayout, where = 'attend: args.kv'): void {
  const err = (m: string): never => {
    throw new RangeError(`${where}.${m}`);
  };
  if (!kv || typeof kv !== 'object') throw new TypeError(`${where} must be a KVLayout object`);
  for (const f of ['kvHeads', 'headDim'] as const) {
    if (!Number.isInteger(kv[f]) || kv[f] < 1) err(`${f} must be an integer ≥ 1; got ${kv[f]}`);
  }
  if (!Number.isInteger(kv.capacity) || kv.capacity < 0) err(`capacity must be an integer ≥ 0; got ${kv.capacity}`);
  const { kvHeads, headDim, capacity, dtype } = kv;
  const want = kvHeads * capacity * headDim;
  const ctor = dtype === 'f32' ? Float32Array : dtype === 'f16' || dtype === 'bf16' ? Uint16Array : undefined;
  if (!ctor) err(`dtype must be 'f32', 'f16' or 'bf16'; got ${String(dtype)}`);
  if (kv.coded !== undefined) {
    if (dtype !== 'f32' || typeof kv.coded.decodeHead !== 'function') err(`coded must be a CodedKV { storage, decodeHead } with dtype 'f32'`);
  }
  for (const f of ['keys', 'values'] as const) {
    const b = kv[f];
    if (kv.coded !== undefined && b?.length === 0) continue; // coded storage: buffers unused
    if (!(b instanceof ctor!)) err(`${f} must be a ${ctor!.name} for dtype ${dtype}; got ${b?.constructor?.name ?? typeof b}`);
    if (b.length !== want) err(`${f} has ${b.length} elements; expected kvHeads×capacity×headDim = ${kvHeads}×${capacity}×${headDim} = ${want}`);
  }
  if (!(kv.lengths instanceof Int32Array) || kv.lengths.length !== kvHeads) {
    err(`lengths must be an Int32Array of kvHeads = ${kvHeads} entries; got ${kv.lengths?.length ?? 'none'}`);
  }
  for (let h = 0; h < kvHeads; h++) {
    const l = kv.lengths[h]!;
    if (l < 0 || l > capacity) err(`lengths[${h}] = ${l} is outside [0, capacity = ${capacity}]`);
  }
  if (!(kv.positions instanceof Int32Array) || kv.positions.length !== kvHeads * capacity) {
    err(`positions must be an Int32Array of kvHeads×capacity = ${kvHeads * capacity} entries; got ${kv.positions?.length ?? 'none'}`);
  }
  if (!(kv.modality instanceof Uint8Array) || kv.modality.length !== kvHeads * capacity) {
    err(`modality must be a Uint8Array of kvHeads×capacity = ${kvHeads * capacity} entries; got ${kv.modality?.length ?? 'none'}`);
  }
  if (kv.prunedKeys !== undefined) {
    if (kv.coded !== undefined) err(`prunedKeys applies to dense keys only; this layout is coded (${kv.coded.storage})`);
    checkPrunedKeys(kv.prunedKeys, kvHeads, headDim, kv.lengths, err);
  }
  for (let h = 0; h < kvHeads; h++) {
    for (let j = 0; j < kv.lengths[h]!; j++) {
      const m = kv.modality[h * capacity + j]!;
      if (m >= NUM_MODALITIES) err(`modality[${h}][${j}] = ${m} is not a modality code 0..${NUM_MODALITIES - 1}`);
    }
  }
}

export function validateNeeds(needs: StatNeeds, where = 'attend: args.needs'): void {
  if (!needs || typeof needs !== 'object') throw new TypeError(`${where} must be a StatNeeds object ({} for none)`);
  const w = needs.window;
  if (w !== undefined && (!Number.isInteger(w) || w < 0)) throw new RangeError(`${where}.window must be an integer ≥ 0; got ${w}`);
}

/** Validates everything referenceAttend and the native kernels rely on; returns the shape. */
export function validateAttendArgs(args: AttendArgs): AttendShape {
  if (!args || typeof args !== 'object') throw new TypeError('attend: args must be an AttendArgs object');
  const n = checkCount('args.n', args.n, 0);
  const qHeads = checkCount('args.qHeads', args.qHeads, 1);
  validateKVLayout(args.kv);
  validateNeeds(args.needs);
  const { kvHeads, headDim, capacity } = args.kv;
  if (qHeads % kvHeads !== 0) fail(`args.qHeads = ${qHeads} must be a multiple of args.kv.kvHeads = ${kvHeads} (GQA)`);
  const rowLen = n * qHeads * headDim;
  if (!(args.q instanceof Float32Array)) fail(`args.q must be a Float32Array [n][qHeads][headDim]`);
  if (args.q.length !== rowLen) fail(`args.q has ${args.q.length} elements; expected n×qHeads×headDim = ${n}×${qHeads}×${headDim} = ${rowLen}`);
  for (let i = 0; i < rowLen; i++) {
    if (!Number.isFinite(args.q[i]!)) {
      const t = Math.floor(i / (qHeads * headDim));
      const qh = Math.floor(i / headDim) % qHeads;
      fail(`args.q[${t}][${qh}][${i % headDim}] is ${args.q[i]}; queries must be finite`);
    }
  }
  if (args.out !== undefined && (!(args.out instanceof Float32Array) || args.out.length !== rowLen)) {
    fail(`args.out must be a Float32Array of n×qHeads×headDim = ${rowLen} elements; got ${args.out?.length ?? typeof args.out}`);
  }
  if (!(args.qPositions instanceof Int32Array) || args.qPositions.length !== n) {
    fail(`args.qPositions must be an Int32Array of n = ${n} entries; got ${args.qPositions?.length ?? 'none'}`);
  }
  const needModality = Boolean(args.needs.textColumn || args.needs.flows);
  if (args.qModality !== undefined) {
    if (!(args.qModality instanceof Uint8Array) || args.qModality.length !== n) {
      fail(`args.qModality must be a Uint8Array of n = ${n} entries; got ${args.qModality?.length ?? 'none'}`);
    }
    for (let i = 0; i < n; i++) {
      if (args.qModality[i]! >= NUM_MODALITIES) fail(`args.qModality[${i}] = ${args.qModality[i]} is not a modality code 0..${NUM_MODALITIES - 1}`);
    }
  } else if (needModality) {
    fail(`args.qModality ([n] Uint8Array of modality codes) is required when needs.textColumn or needs.flows is set`);
  }
  if (typeof args.scale !== 'number' || !Number.isFinite(args.scale) || args.scale <= 0) {
    fail(`args.scale must be a finite number > 0 (usually 1/sqrt(headDim)); got ${args.scale}`);
  }
  const w = args.needs.window ?? 0;
  return { n, qHeads, kvHeads, headDim, capacity, group: qHeads / kvHeads, window: Math.min(w, n) };
}
