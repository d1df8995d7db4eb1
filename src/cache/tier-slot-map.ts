/**
 * Where each slot of a tiered layer lives when the cold slots are chosen by score (tier `by:
 * 'score'`), and the scores that choose them. Slots keep their order (views, positions,
 * statistics are by slot as without a tier); only rows move. Head h's rows are numbered in
 * storage order: rows 0..coldLen−1 are its cold rows in the tier file, the rest its hot rows
 * in DRAM, so the kernels still stream each part front to back. rowSlot maps a row to its
 * slot, slotRow the reverse; both are [kvHeads][stride] Int32, stride = the LayerCache's
 * capacity. The score of a slot (tier-spec.ts) is its accumulated attention mass — the column
 * sums of every attend since it arrived (H2O's score: the slots H2O would evict next are the
 * ones that go to the file) — [kvHeads][stride] f32 by slot, 0 on arrival.
 */

export class TierSlotMap {
  private stride: number;
  private rowSlot: Int32Array;
  private slotRow: Int32Array;
  private score: Float32Array;
  /** Scratch of one head: candidate slots (selection), new slot of an old one (keep). */
  private scratch: Int32Array;

  constructor(
    private readonly kvHeads: number,
    stride: number,
  ) {
    this.stride = stride;
    this.rowSlot = new Int32Array(kvHeads * stride);
    this.slotRow = new Int32Array(kvHeads * stride);
    this.score = new Float32Array(kvHeads * stride);
    this.scratch = new Int32Array(stride);
  }

  /** [kvHeads][stride] slot of each row, as TierLayout.rowSlots hands it to the kernels. */
  get rowSlots(): Int32Array {
    return this.rowSlot;
  }

  /** Slot held by row r of head h. */
  slotAt(h: number, r: number): number {
    return this.rowSlot[h * this.stride + r]!;
  }

  /** Row holding slot s of head h. */
  rowOf(h: number, s: number): number {
    return this.slotRow[h * this.stride + s]!;
  }

  /** Slots at..at+n−1 of head h arrive as rows at..at+n−1 (hot, after every other row), score 0. */
  append(h: number, at: number, n: number): void {
    const b = h * this.stride;
    for (let s = at; s < at + n; s++) {
      this.rowSlot[b + s] = s;
      this.slotRow[b + s] = s;
    }
    this.score.fill(0, b + at, b + at + n);
  }

  /** Adds per-head column sums (cum[h]: [lengths[h]] f32) to the slots' scores. */
  addScores(cum: readonly Float32Array[]): void {
    for (let h = 0; h < this.kvHeads; h++) {
      const c = cum[h]!;
      const b = h * this.stride;
      for (let j = 0; j < c.length; j++) this.score[b + j] += c[j]!;
    }
  }

  /** Slots of head h with their scores, [len] views (tests and diagnostics). */
  scores(h: number, len: number): Float32Array {
    return this.score.subarray(h * this.stride, h * this.stride + len);
  }

  /** Rows r and q of head h trade slots. */
  swap(h: number, r: number, q: number): void {
    const b = h * this.stride;
    const s = this.rowSlot[b + r]!;
    const t = this.rowSlot[b + q]!;
    this.place(b, r, t);
    this.place(b, q, s);
  }

  /** Row r of head h now holds slot s. */
  put(h: number, r: number, s: number): void {
    this.place(h * this.stride, r, s);
  }

  /**
   * After a compaction that keeps slots `keep` (ascending) of head h's len: the new slot of
   * each old one, or −1 (a [len] view of scratch, valid until the next call); scores follow
   * their slots. The caller then re-places the kept rows (put) and calls reindex.
   */
  keep(h: number, keep: Int32Array, len: number): Int32Array {
    const b = h * this.stride;
    const next = this.scratch.subarray(0, len).fill(-1);
    keep.forEach((s, r) => {
      next[s] = r;
      this.score[b + r] = this.score[b + s]!; // ascending: s ≥ r, a forward gather in place
    });
    return next;
  }

  /** Rebuilds slotRow of head h from its first len rows. */
  reindex(h: number, len: number): void {
    const b = h * this.stride;
    for (let r = 0; r < len; r++) this.slotRow[b + this.rowSlot[b + r]!] = r;
  }

  /**
   * Marks `cold` [len] (1 = on file) for head h: its k lowest-scored slots among
   * [sinks, len − recent), ties going to the older slot, so slots never scored (a prefill not
   * attended yet) go oldest first, as by age. k must not exceed that range.
   */
  chooseCold(h: number, len: number, k: number, sinks: number, recent: number, cold: Uint8Array): void {
    cold.fill(0, 0, len);
    const lo = Math.min(sinks, len);
    const hi = Math.max(lo, len - recent);
    if (k <= 0) return;
    if (k >= hi - lo) {
      cold.fill(1, lo, hi);
      return;
    }
    const cand = this.scratch;
    for (let s = lo; s < hi; s++) cand[s - lo] = s;
    selectLowest(cand, hi - lo, k, this.score.subarray(h * this.stride));
    for (let i = 0; i < k; i++) cold[cand[i]!] = 1;
  }

  /** The map re-strided to `stride` slots per head, heads holding lengths[h]. */
  resize(stride: number, lengths: Int32Array): void {
    const rowSlot = new Int32Array(this.kvHeads * stride);
    const slotRow = new Int32Array(this.kvHeads * stride);
    const score = new Float32Array(this.kvHeads * stride);
    for (let h = 0; h < this.kvHeads; h++) {
      const a = h * this.stride;
      const n = lengths[h]!;
      rowSlot.set(this.rowSlot.subarray(a, a + n), h * stride);
      slotRow.set(this.slotRow.subarray(a, a + n), h * stride);
      score.set(this.score.subarray(a, a + n), h * stride);
    }
    Object.assign(this, { rowSlot, slotRow, score, stride, scratch: new Int32Array(stride) });
  }

  clone(): TierSlotMap {
    const c = Object.create(TierSlotMap.prototype) as TierSlotMap;
    Object.assign(c, this, { rowSlot: this.rowSlot.slice(), slotRow: this.slotRow.slice(), score: this.score.slice(), scratch: new Int32Array(this.stride) });
    return c;
  }

  private place(b: number, r: number, s: number): void {
    this.rowSlot[b + r] = s;
    this.slotRow[b + s] = r;
  }
}

/** Reorders cand[0..n) so its first k entries are the k lowest by (score, slot) (quickselect). */
function selectLowest(cand: Int32Array, n: number, k: number, score: Float32Array): void {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const p = cand[(lo + hi) >> 1]!;
    const ps = score[p]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      // (score, slot) order, written out: this loop runs over every slot of a head per rebalance.
      for (let a = cand[i]!, sa = score[a]!; sa < ps || (sa === ps && a < p); a = cand[++i]!, sa = score[a]!);
      for (let b = cand[j]!, sb = score[b]!; ps < sb || (sb === ps && p < b); b = cand[--j]!, sb = score[b]!);
      if (i <= j) {
        const t = cand[i]!;
        cand[i] = cand[j]!;
        cand[j] = t;
        i++;
        j--;
      }
    }
    // [lo, j] ≤ pivot ≤ [i, hi]: continue in the side holding position k − 1.
    if (k - 1 <= j) hi = j;
    else if (k - 1 >= i) lo = i;
    else return;
  }
}
