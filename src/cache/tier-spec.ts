/**
 * The DRAM–flash tier's settings (MNN-LLM's hybrid storage): which slots of a layer are cold
 * and move to a memory-mapped scratch file, and where that file goes. Cold slots are always a
 * head's oldest: `coldFraction` makes the oldest ⌊f·len⌋ slots of each head cold, `window`
 * keeps the newest W slots in DRAM and makes the rest cold. Give one of the two.
 */
import { tmpdir } from 'node:os';

export interface TierOptions {
  /** Fraction of each head's slots (its oldest) held on file, in [0, 1]. */
  coldFraction?: number;
  /** Slots per head kept in DRAM (the newest); older ones go to the file. Integer ≥ 0. */
  window?: number;
  /** Directory of the scratch file (default os.tmpdir()). */
  dir?: string;
  /** Most bytes the session's file may hold (default 64 GiB); past it the cache reports no space. */
  maxBytes?: number;
}

export interface TierSpec {
  readonly coldFraction: number | undefined;
  readonly window: number | undefined;
  readonly dir: string;
  readonly maxBytes: number;
  /** Cold slots of a head holding len slots. */
  coldTarget(len: number): number;
}

export const TIER_DEFAULT_MAX_BYTES = 64 * 2 ** 30;
/** The native file's address-space limit (kvp_tier_open). */
export const TIER_MAX_BYTES_LIMIT = 2 ** 46;

/** Validates tier options (`where` names the field in errors) and freezes them. */
export function tierSpec(o: TierOptions, where = 'tier'): TierSpec {
  if (!o || typeof o !== 'object') throw new TypeError(`${where} must be { coldFraction | window, dir?, maxBytes? }; got ${String(o)}`);
  const { coldFraction, window } = o;
  if ((coldFraction === undefined) === (window === undefined)) {
    throw new RangeError(`${where}: give exactly one of coldFraction (0..1 of each head's oldest slots on file) or window (newest slots kept in DRAM)`);
  }
  if (coldFraction !== undefined && (typeof coldFraction !== 'number' || !(coldFraction >= 0 && coldFraction <= 1))) {
    throw new RangeError(`${where}.coldFraction must be a number in [0, 1]; got ${String(coldFraction)}`);
  }
  if (window !== undefined && (!Number.isInteger(window) || window < 0)) throw new RangeError(`${where}.window must be an integer ≥ 0; got ${String(window)}`);
  const dir = o.dir ?? tmpdir();
  if (typeof dir !== 'string' || dir.length === 0) throw new TypeError(`${where}.dir must be a directory path; got ${String(dir)}`);
  const maxBytes = o.maxBytes ?? TIER_DEFAULT_MAX_BYTES;
  if (!Number.isInteger(maxBytes) || maxBytes < 1 || maxBytes > TIER_MAX_BYTES_LIMIT) {
    throw new RangeError(`${where}.maxBytes must be an integer in [1, 2^46]; got ${String(maxBytes)}`);
  }
  const coldTarget = coldFraction !== undefined ? (len: number) => Math.floor(coldFraction * len) : (len: number) => Math.max(0, len - window!);
  return Object.freeze({ coldFraction, window, dir, maxBytes, coldTarget });
}
