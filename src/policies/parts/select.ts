/**
 * Index selection over per-slot scores: the "which slots survive" half of every policy.
 * All results are Int32Array slot indices in ascending order (the order HeadPlan.keep needs).
 */
import quickselect from 'quickselect';

/**
 * Indices of the k largest scores (ties → lower index), returned ascending by index.
 * `allowed` restricts the candidates; k is clamped to [0, number of allowed]. NaN scores rank
 * below every number. `scores`: [len] any unit (only the order matters).
 */
export function topK(scores: ArrayLike<number>, k: number, allowed?: (i: number) => boolean): Int32Array {
  if (!Number.isFinite(k)) throw new RangeError(`topK: k must be a finite number; got ${k}`);
  const n = scores.length;
  const cand: number[] = [];
  for (let i = 0; i < n; i++) if (!allowed || allowed(i)) cand.push(i);
  const take = Math.max(0, Math.min(Math.floor(k), cand.length));
  if (take === cand.length) return Int32Array.from(cand);
  if (take === 0) return new Int32Array(0);
  const key = (i: number): number => {
    const s = scores[i]!;
    return Number.isNaN(s) ? -Infinity : s;
  };
  // Total order: larger score first, then lower index (±Infinity ties give NaN − NaN || a − b
  // falls through to the index); quickselect puts the best `take` in front.
  quickselect(cand, take - 1, 0, cand.length - 1, (a, b) => key(b) - key(a) || a - b);
  return Int32Array.from(cand.slice(0, take)).sort();
}

/** The last n of len slots (n clamped to [0, len]), ascending. */
export function lastN(len: number, n: number): Int32Array {
  const m = Math.max(0, Math.min(Math.floor(n), len));
  const out = new Int32Array(m);
  for (let i = 0; i < m; i++) out[i] = len - m + i;
  return out;
}

/** The first n of len slots (n clamped to [0, len]), ascending. */
export function firstN(len: number, n: number): Int32Array {
  const m = Math.max(0, Math.min(Math.floor(n), len));
  const out = new Int32Array(m);
  for (let i = 0; i < m; i++) out[i] = i;
  return out;
}

/** 0..len-1. */
export function allSlots(len: number): Int32Array {
  return firstN(len, len);
}

/** Union of index sets (any order, duplicates allowed), ascending without duplicates. */
export function unionSorted(...sets: ArrayLike<number>[]): Int32Array {
  let total = 0;
  for (const s of sets) total += s.length;
  const all = new Int32Array(total);
  let o = 0;
  for (const s of sets) for (let i = 0; i < s.length; i++) all[o++] = s[i]!;
  all.sort();
  let w = 0;
  for (let i = 0; i < all.length; i++) if (i === 0 || all[i] !== all[w - 1]) all[w++] = all[i]!;
  return all.slice(0, w);
}

/** Slots of 0..len-1 that are not in `keep` (ascending), e.g. the evicted ones. */
export function complement(len: number, keep: ArrayLike<number>): Int32Array {
  const mark = new Uint8Array(len);
  for (let i = 0; i < keep.length; i++) mark[keep[i]!] = 1;
  const out = new Int32Array(len - countMarked(mark));
  let o = 0;
  for (let i = 0; i < len; i++) if (!mark[i]) out[o++] = i;
  return out;
}

function countMarked(mark: Uint8Array): number {
  let c = 0;
  for (let i = 0; i < mark.length; i++) c += mark[i]!;
  return c;
}

/** A membership mask of length len for an index set. */
export function maskOf(len: number, set: ArrayLike<number>): Uint8Array {
  const mark = new Uint8Array(len);
  for (let i = 0; i < set.length; i++) mark[set[i]!] = 1;
  return mark;
}

/**
 * The "heavy hitters + recent window" rule shared by H2O, SnapKV, LOOK-M and their kin: keep
 * the last `recent` slots (clamped to the budget) plus the top-(budget − recent) older slots by
 * score (optionally restricted by `allowed`). Budget ≥ len keeps everything.
 */
export function keepTopWithRecent(
  scores: ArrayLike<number>,
  len: number,
  budget: number,
  recent: number,
  allowed?: (i: number) => boolean,
): Int32Array {
  if (budget >= len) return allSlots(len);
  const r = Math.max(0, Math.min(Math.floor(recent), budget));
  const start = len - r;
  const heavy = topK(scores, budget - r, (i) => i < start && (!allowed || allowed(i)));
  return unionSorted(heavy, lastN(len, r));
}
