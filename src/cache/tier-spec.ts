/**
 * The DRAM–flash tier's settings (MNN-LLM's hybrid storage): how many slots of a layer's heads
 * are cold and move to a memory-mapped scratch file, which ones, and where that file goes.
 * How many: `coldFraction` makes ⌊f·len⌋ slots of each head cold, `window` keeps W slots in
 * DRAM and makes the rest cold (give one of the two). Which: `by: 'age'` (default) takes a
 * head's oldest slots; `by: 'score'` its lowest-scored ones (tier-score.ts: accumulated
 * attention mass), never its first `sinks` nor its newest `recent` slots.
 */
import { tmpdir } from 'node:os';

export type TierOrder = 'age' | 'score';

export interface TierOptions {
  /** Fraction of each head's slots held on file, in [0, 1]. */
  coldFraction?: number;
  /** Slots per head kept in DRAM; the others go to the file. Integer ≥ 0. */
  window?: number;
  /** Which slots are cold: a head's oldest ('age', default) or its lowest-scored ('score'). */
  by?: TierOrder;
  /** by 'score': a head's first slots (attention sinks) that stay in DRAM (default 4). */
  sinks?: number;
  /** by 'score': a head's newest slots that stay in DRAM (default 64). */
  recent?: number;
  /**
   * by 'score': gather the column sums that score the slots on every scoreEvery-th attend of a
   * layer (default 1: every one). Fewer: less attention work, and between them the rows move
   * without a new ranking; the score then sums the sampled attends only.
   */
  scoreEvery?: number;
  /** Directory of the scratch file (default os.tmpdir()). */
  dir?: string;
  /** Most bytes the session's file may hold (default 64 GiB); past it the cache reports no space. */
  maxBytes?: number;
}

export interface TierSpec {
  readonly coldFraction: number | undefined;
  readonly window: number | undefined;
  readonly by: TierOrder;
  /** Slots by 'score' never makes cold: the first `sinks` and the newest `recent` of a head (0 by 'age'). */
  readonly sinks: number;
  readonly recent: number;
  /** Attends of a layer per gathering of its column sums (by 'score'; 1 by 'age'). */
  readonly scoreEvery: number;
  readonly dir: string;
  readonly maxBytes: number;
  /** Cold slots of a head holding len slots (by 'score' at most the len − sinks − recent unprotected ones). */
  coldTarget(len: number): number;
}

export const TIER_DEFAULT_MAX_BYTES = 64 * 2 ** 30;
/** The native file's address-space limit (kvp_tier_open). */
export const TIER_MAX_BYTES_LIMIT = 2 ** 46;
/** by 'score' defaults: StreamingLLM's 4 attention sinks, and a recent window past any single decode step's reach. */
export const TIER_DEFAULT_SINKS = 4;
export const TIER_DEFAULT_RECENT = 64;

const FORM = '{ coldFraction | window, by?: age | score, sinks?, recent?, scoreEvery?, dir?, maxBytes? }';

/** Validates tier options (`where` names the field in errors) and freezes them. */
export function tierSpec(o: TierOptions, where = 'tier'): TierSpec {
  if (!o || typeof o !== 'object') throw new TypeError(`${where} must be ${FORM}; got ${String(o)}`);
  const { coldFraction, window } = o;
  if ((coldFraction === undefined) === (window === undefined)) {
    throw new RangeError(`${where}: give exactly one of coldFraction (0..1 of each head's slots on file) or window (slots kept in DRAM)`);
  }
  if (coldFraction !== undefined && (typeof coldFraction !== 'number' || !(coldFraction >= 0 && coldFraction <= 1))) {
    throw new RangeError(`${where}.coldFraction must be a number in [0, 1]; got ${String(coldFraction)}`);
  }
  if (window !== undefined && (!Number.isInteger(window) || window < 0)) throw new RangeError(`${where}.window must be an integer ≥ 0; got ${String(window)}`);
  const by = o.by ?? 'age';
  if (by !== 'age' && by !== 'score') throw new RangeError(`${where}.by must be "age" or "score"; got ${String(by)}`);
  if (by === 'age' && (o.sinks !== undefined || o.recent !== undefined || o.scoreEvery !== undefined)) {
    throw new RangeError(`${where}: sinks, recent and scoreEvery shape the choice by "score"; by "age" (the default) the newest slots are hot anyway`);
  }
  const sinks = by === 'score' ? (o.sinks ?? TIER_DEFAULT_SINKS) : 0;
  const recent = by === 'score' ? (o.recent ?? TIER_DEFAULT_RECENT) : 0;
  for (const [f, x] of [['sinks', sinks], ['recent', recent]] as const) {
    if (!Number.isInteger(x) || x < 0) throw new RangeError(`${where}.${f} must be an integer ≥ 0; got ${String(x)}`);
  }
  const scoreEvery = o.scoreEvery ?? 1;
  if (!Number.isInteger(scoreEvery) || scoreEvery < 1) throw new RangeError(`${where}.scoreEvery must be an integer ≥ 1; got ${String(scoreEvery)}`);
  const dir = o.dir ?? tmpdir();
  if (typeof dir !== 'string' || dir.length === 0) throw new TypeError(`${where}.dir must be a directory path; got ${String(dir)}`);
  const maxBytes = o.maxBytes ?? TIER_DEFAULT_MAX_BYTES;
  if (!Number.isInteger(maxBytes) || maxBytes < 1 || maxBytes > TIER_MAX_BYTES_LIMIT) {
    throw new RangeError(`${where}.maxBytes must be an integer in [1, 2^46]; got ${String(maxBytes)}`);
  }
  const wanted = coldFraction !== undefined ? (len: number) => Math.floor(coldFraction * len) : (len: number) => Math.max(0, len - window!);
  const coldTarget = (len: number) => Math.max(0, Math.min(wanted(len), len - sinks - recent));
  return Object.freeze({ coldFraction, window, by, sinks, recent, scoreEvery, dir, maxBytes, coldTarget });
}
