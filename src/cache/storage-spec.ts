/**
 * K/V storage types of a LayerCache and their exact byte accounting (vLLM's KVCacheSpec idea:
 * one frozen spec per layer computes its own bytes; the storage kind is an enum).
 *
 * - `f32` / `f16` / `bf16`: dense floats, 4 / 2 / 2 bytes per element.
 * - `int8-fp8` (MNN-LLM): keys as uint8 codes with an asymmetric f32 scale and minimum per
 *   (token, group of G channels); values as fp8-e4m3 codes with an f32 scale per (token, group
 *   of G channels). Every slot owns its codes and scales, so compaction moves bytes exactly.
 * - `int4` / `int2` (KIVI): keys per channel over groups of up to G tokens, values per token
 *   over groups of G channels, asymmetric packed codes with f32 scale and minimum; the most
 *   recent R..R+G−1 tokens stay f32 (the residual window).
 * Layouts in detail: docs/kv-storage.md.
 */
import type { KVDType } from '../attention/backend.js';

export type StorageKind = 'f32' | 'f16' | 'bf16' | 'int8-fp8' | 'int4' | 'int2';
export const STORAGE_KINDS: readonly StorageKind[] = ['f32', 'f16', 'bf16', 'int8-fp8', 'int4', 'int2'];

/** A storage type as users write it: a kind (defaults for G and R) or the kind with G / R. */
export type KVStorage = StorageKind | { kind: StorageKind; group?: number; residual?: number };

/** G range: channels per group (int8-fp8, KIVI values) and tokens per KIVI key group. */
export const GROUP_RANGE = { min: 1, max: 1024 } as const;
/** R range: KIVI's full-precision recent window, in tokens. */
export const RESIDUAL_RANGE = { min: 0, max: 65536 } as const;
export const STORAGE_DEFAULTS = { group: 32, residual: 128 } as const;

/** How many tokens of one head are held in which form (what bytes() needs). */
export interface StorageCounts {
  /** Tokens held as codes. */
  coded: number;
  /** KIVI key groups (each a run of ≤ G coded tokens sharing per-channel scale and minimum). */
  keyGroups: number;
  /** Tokens held as dense floats (all of them for f32/f16/bf16; KIVI's residual window). */
  dense: number;
}

/** The frozen storage of one layer shape. */
export interface StorageSpec {
  readonly kind: StorageKind;
  readonly headDim: number;
  /** G (0 for the float kinds). */
  readonly group: number;
  /** R (0 unless KIVI). */
  readonly residual: number;
  /** Code bits per element (8 for int8-fp8, 4 / 2 for KIVI; 0 for floats). */
  readonly bits: number;
  /** The dense element type (the float kinds; f32 for the KIVI residual). */
  readonly denseDType: KVDType;
  readonly quantized: boolean;
  /** Exact K+V bytes of one head holding these counts: codes + scales + dense rows. */
  bytes(c: StorageCounts): number;
}

const F32 = 4;

/** Packed bytes of one row of headDim codes of `bits` bits (rows start on a byte). */
export function codeRowBytes(headDim: number, bits: number): number {
  return Math.ceil((headDim * bits) / 8);
}

/** Channel groups of G in a row of headDim channels (the last may be shorter). */
export function channelGroups(headDim: number, group: number): number {
  return Math.ceil(headDim / group);
}

/**
 * Validates a user's storage choice (`where` names the field) and builds the frozen spec; a
 * spec already built for this headDim is returned as is.
 */
export function storageSpec(input: KVStorage | StorageSpec, headDim: number, where = 'storage'): StorageSpec {
  if (isStorageSpec(input) && input.headDim === headDim) return input;
  const o = typeof input === 'string' ? { kind: input } : input;
  if (!o || typeof o !== 'object') throw new TypeError(`${where} must be one of ${STORAGE_KINDS.join(', ')} or { kind, group?, residual? }; got ${String(input)}`);
  const kind = o.kind;
  if (!STORAGE_KINDS.includes(kind)) throw new RangeError(`${where}.kind must be one of ${STORAGE_KINDS.join(', ')}; got ${String(kind)}`);
  const float = kind === 'f32' || kind === 'f16' || kind === 'bf16';
  const kivi = kind === 'int4' || kind === 'int2';
  const misplaced = misplacedOption(o);
  if (misplaced) throw new RangeError(`${where}: ${misplaced}`);
  const group = float ? 0 : checkRange(o.group ?? STORAGE_DEFAULTS.group, GROUP_RANGE, `${where}.group (G)`);
  const residual = kivi ? checkRange(o.residual ?? STORAGE_DEFAULTS.residual, RESIDUAL_RANGE, `${where}.residual (R)`) : 0;
  if (!Number.isInteger(headDim) || headDim < 1) throw new RangeError(`${where}: headDim must be an integer ≥ 1; got ${headDim}`);
  const bits = kind === 'int8-fp8' ? 8 : kind === 'int4' ? 4 : kind === 'int2' ? 2 : 0;
  const d = headDim;
  const cg = group > 0 ? channelGroups(d, group) : 0;
  const elem = kind === 'f32' ? 4 : 2;
  const bytes = (c: StorageCounts): number => {
    if (float) return c.dense * d * elem * 2;
    // int8-fp8: per token d key codes + d value codes, key (scale, min) and value scale per channel group.
    if (kind === 'int8-fp8') return c.coded * (2 * d + cg * 3 * F32);
    // KIVI: packed key and value rows, key (scale, min) per group and channel, value (scale, min)
    // per token and channel group, f32 residual keys and values.
    return c.coded * (2 * codeRowBytes(d, bits) + cg * 2 * F32) + c.keyGroups * d * 2 * F32 + c.dense * d * 2 * F32;
  };
  return Object.freeze({ kind, headDim: d, group, residual, bits, denseDType: float ? (kind as KVDType) : 'f32', quantized: !float, bytes });
}

/** Why a kind cannot take the G / R it was given (undefined when it can). */
export function misplacedOption(o: { kind: StorageKind; group?: number; residual?: number }): string | undefined {
  const float = o.kind === 'f32' || o.kind === 'f16' || o.kind === 'bf16';
  if (float && (o.group !== undefined || o.residual !== undefined)) return `${o.kind} storage takes no group or residual`;
  if (o.kind === 'int8-fp8' && o.residual !== undefined) return 'int8-fp8 storage has no residual window (every token is coded); remove residual';
  return undefined;
}

function isStorageSpec(x: unknown): x is StorageSpec {
  return typeof x === 'object' && x !== null && typeof (x as StorageSpec).bytes === 'function' && Object.isFrozen(x);
}

function checkRange(x: unknown, r: { min: number; max: number }, name: string): number {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < r.min || x > r.max) throw new RangeError(`${name} must be an integer in [${r.min}, ${r.max}]; got ${String(x)}`);
  return x;
}
