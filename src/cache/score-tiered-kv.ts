/**
 * The DRAM–flash tier with its cold slots chosen by score (tier `by: 'score'`): each head's
 * lowest-scored slots, never its first `sinks` nor its newest `recent`, live in the tier file
 * (tier-slot-map.ts says which score and where each slot's row lies). Slots keep their order;
 * a row moves between the parts by trading places with another (one row each way), so a
 * rebalance moves only the slots whose side changed and each part stays one run of rows the
 * kernels stream front to back. The kernels see the rows in storage order with each row's
 * slot (TierLayout.rowSlots); the native backend hands them the positions in that order and
 * puts the statistics back in slot order (src/attention/native/tier-order.ts).
 */
import type { KVBuffer } from '../attention/backend.js';
import { decodeToF32, encodeFromF32 } from '../util/half.js';
import type { StoreLayout } from './kv-store.js';
import type { StorageSpec } from './storage-spec.js';
import type { TierFile } from './tier-file.js';
import { TierSlotMap } from './tier-slot-map.js';
import type { TierSpec } from './tier-spec.js';
import { TieredKV } from './tiered-kv.js';

export class ScoreTieredKV extends TieredKV {
  private map: TierSlotMap;
  /** [slots] 1 = the slot belongs on file (scratch of rebalance). */
  private coldMark: Uint8Array;
  /** [kvHeads] slots a head held when its cold rows were last made exact; −1 once scores or slots changed otherwise. */
  private rankedLen: Int32Array;

  constructor(spec: StorageSpec, kvHeads: number, cap: number, tier: TierSpec, file: TierFile) {
    super(spec, kvHeads, cap, tier, file);
    this.map = new TierSlotMap(kvHeads, cap);
    this.coldMark = new Uint8Array(cap);
    this.rankedLen = new Int32Array(kvHeads).fill(-1);
  }

  /** Head h's slot scores [len] (accumulated attention mass), by slot. */
  slotScores(h: number): Float32Array {
    return this.map.scores(h, this.len[h]!);
  }

  /** Whether slot s of head h is on file. */
  isColdSlot(h: number, s: number): boolean {
    return this.map.rowOf(h, s) < this.coldLen[h]!;
  }

  /** Adds an attend's column sums (cum[h]: [lengths[h]] f32) to the slots' scores; rows move at the next verb. */
  addScores(cum: readonly Float32Array[]): void {
    this.map.addScores(cum);
    this.rankedLen.fill(-1);
  }

  override appendHead(h: number, at: number, k: Float32Array, v: Float32Array, n: number, kvHeads: number): void {
    this.checkLive();
    this.map.append(h, at, n); // new slots arrive as the newest hot rows, where the base writes them
    super.appendHead(h, at, k, v, n, kvHeads);
  }

  override decodeHead(which: 'keys' | 'values', h: number, len: number): Float32Array {
    this.checkLive();
    const d = this.spec.headDim;
    const out = new Float32Array(len * d);
    for (let s = 0; s < len; s++) {
      const [buf, row] = this.rowAt(h, this.map.rowOf(h, s), which);
      decodeToF32(buf, this.spec.denseDType, row * d, d, out.subarray(s * d, (s + 1) * d));
    }
    return out;
  }

  override keepHead(h: number, keep: Int32Array): void {
    this.checkLive();
    const d = this.spec.headDim;
    const len = this.len[h]!;
    const cold = this.coldLen[h]!;
    const next = this.map.keep(h, keep, len);
    // Each part compacts in storage order: a kept row moves towards the front of its own part
    // (a forward gather, safe in place) and takes its slot's new index.
    const c0 = h * this.coldCap;
    let keptCold = 0;
    for (let r = 0; r < cold; r++) {
      const s = next[this.map.slotAt(h, r)]!;
      if (s < 0) continue;
      this.moveRow(this.coldKeys, this.coldValues, c0 + r, c0 + keptCold, d);
      this.map.put(h, keptCold++, s);
    }
    const h0 = h * this.hotCap + this.hotStart[h]!;
    let keptHot = 0;
    for (let r = cold; r < len; r++) {
      const s = next[this.map.slotAt(h, r)]!;
      if (s < 0) continue;
      this.moveRow(this.hotKeys, this.hotValues, h0 + r - cold, h0 + keptHot, d);
      this.map.put(h, keptCold + keptHot++, s);
    }
    this.coldLen[h] = keptCold;
    this.len[h] = keep.length;
    this.map.reindex(h, keep.length);
    this.rankedLen[h] = -1;
    this.rebalance(h);
  }

  override writeSlot(h: number, slot: number, key: Float32Array | null, value: Float32Array): void {
    this.checkLive();
    const r = this.map.rowOf(h, slot);
    const d = this.spec.headDim;
    const [kb, row] = this.rowAt(h, r, 'keys');
    const [vb] = this.rowAt(h, r, 'values');
    if (key) encodeFromF32(key, this.spec.denseDType, kb, row * d);
    encodeFromF32(value, this.spec.denseDType, vb, row * d);
  }

  override resize(cap: number, lengths: Int32Array): void {
    super.resize(cap, lengths);
    this.map.resize(cap, lengths);
    this.coldMark = new Uint8Array(cap);
  }

  override layout(): StoreLayout {
    const s = super.layout();
    return { ...s, tier: { ...s.tier!, rowSlots: this.map.rowSlots } };
  }

  override clone(file?: TierFile): ScoreTieredKV {
    const c = super.clone(file) as ScoreTieredKV;
    c.map = this.map.clone();
    c.coldMark = new Uint8Array(this.coldMark.length);
    c.rankedLen = this.rankedLen.slice();
    return c;
  }

  /** Makes head h's cold rows exactly its chosen slots: one step from the last ranking when it can, else all over. */
  protected override rebalance(h: number): void {
    const len = this.len[h]!;
    const grew = this.tier.coldTarget(len) - this.coldLen[h]!;
    if (this.rankedLen[h] === len - 1 && (grew === 0 || grew === 1)) this.rankOneMore(h);
    else this.rankAll(h);
    this.rankedLen[h] = len;
  }

  /**
   * The head gained one slot since its cold rows were exact and no score changed (scores
   * gathered every scoreEvery-th attend): at most one slot became eligible — the one leaving
   * the recent window — and the target grew by at most one, so one walk over the rows finds
   * the at most two rows to move, without a selection. Keys are (score, slot).
   */
  private rankOneMore(h: number): void {
    const len = this.len[h]!;
    const { sinks, recent } = this.tier;
    const target = this.tier.coldTarget(len);
    this.ensureColdRows(target); // a full disk fails here, before any row moved
    const cold = this.coldLen[h]!;
    const end = len - recent; // eligible slots: [sinks, end)
    const fresh = end - 1 >= sinks ? end - 1 : -1;
    const score = this.map.scores(h, len);
    const below = (a: number, b: number) => score[a]! < score[b]! || (score[a] === score[b] && a < b);
    if (target === cold) {
      if (fresh < 0 || cold === 0) return;
      // Still the lowest `cold` of the eligible slots: the fresh slot replaces the highest cold one if it ranks below it.
      let top = this.map.slotAt(h, 0);
      for (let r = 1; r < cold; r++) {
        const s = this.map.slotAt(h, r);
        if (below(top, s)) top = s;
      }
      if (below(fresh, top)) this.swapRows(h, this.map.rowOf(h, top), this.map.rowOf(h, fresh));
      return;
    }
    // One more cold slot: the lowest eligible hot one (the fresh slot is hot: it was protected).
    let low = -1;
    for (let r = cold; r < len; r++) {
      const s = this.map.slotAt(h, r);
      if (s >= sinks && s < end && (low < 0 || below(s, low))) low = s;
    }
    if (low >= 0) this.spill(h, low);
  }

  /**
   * Moves rows until head h's cold rows hold exactly its chosen slots (TierSlotMap.chooseCold):
   * a slot leaving the file and one entering it trade rows; the rest spill behind the cold rows
   * (the first hot row fills the gap) or come back in front of the hot rows (the last cold row
   * fills the gap).
   */
  private rankAll(h: number): void {
    const len = this.len[h]!;
    const target = this.tier.coldTarget(len);
    this.map.chooseCold(h, len, target, this.tier.sinks, this.tier.recent, this.coldMark);
    this.ensureColdRows(target); // a full disk fails here, before any row moved
    const leave: number[] = [];
    const enter: number[] = [];
    const cold = this.coldLen[h]!;
    for (let r = 0; r < len; r++) {
      const s = this.map.slotAt(h, r);
      if (r < cold && this.coldMark[s] === 0) leave.push(s);
      else if (r >= cold && this.coldMark[s] === 1) enter.push(s);
    }
    const pairs = Math.min(leave.length, enter.length);
    for (let i = 0; i < pairs; i++) this.swapRows(h, this.map.rowOf(h, leave[i]!), this.map.rowOf(h, enter[i]!));
    for (let i = pairs; i < enter.length; i++) this.spill(h, enter[i]!);
    if (leave.length > pairs) this.roomInFront(h, leave.length - pairs);
    for (let i = pairs; i < leave.length; i++) this.recall(h, leave[i]!);
  }

  /** Slot s (hot) moves to the file behind the cold rows; the first hot row takes its place. */
  private spill(h: number, s: number): void {
    const d = this.spec.headDim;
    const first = this.coldLen[h]!;
    const r = this.map.rowOf(h, s);
    const moved = this.map.slotAt(h, first);
    this.copyRows(this.hotKeys, this.hotValues, this.hotRow(h, r, first), this.coldKeys, this.coldValues, h * this.coldCap + first, 1, d);
    if (r !== first) {
      this.copyRows(this.hotKeys, this.hotValues, this.hotRow(h, first, first), this.hotKeys, this.hotValues, this.hotRow(h, r, first), 1, d);
      this.map.put(h, r, moved);
    }
    this.map.put(h, first, s);
    this.hotStart[h] += 1;
    this.coldLen[h] = first + 1;
  }

  /** Slot s (cold) comes back in front of the hot rows (hotStart[h] ≥ 1); the last cold row takes its place. */
  private recall(h: number, s: number): void {
    const d = this.spec.headDim;
    const last = this.coldLen[h]! - 1;
    const r = this.map.rowOf(h, s);
    const moved = this.map.slotAt(h, last);
    const c0 = h * this.coldCap;
    this.copyRows(this.coldKeys, this.coldValues, c0 + r, this.hotKeys, this.hotValues, h * this.hotCap + this.hotStart[h]! - 1, 1, d);
    if (r !== last) {
      this.copyRows(this.coldKeys, this.coldValues, c0 + last, this.coldKeys, this.coldValues, c0 + r, 1, d);
      this.map.put(h, r, moved);
    }
    this.map.put(h, last, s);
    this.hotStart[h] -= 1;
    this.coldLen[h] = last;
  }

  /** Rows r (cold) and q (hot) of head h trade contents and slots. */
  private swapRows(h: number, r: number, q: number): void {
    const d = this.spec.headDim;
    const c = (h * this.coldCap + r) * d;
    const t = this.hotRow(h, q, this.coldLen[h]!) * d;
    swapSpan(this.coldKeys, c, this.hotKeys, t, d);
    swapSpan(this.coldValues, c, this.hotValues, t, d);
    this.map.swap(h, r, q);
  }

  /** Index in the hot stripes of head h's row r (≥ cold, the head's cold rows). */
  private hotRow(h: number, r: number, cold: number): number {
    return h * this.hotCap + this.hotStart[h]! + r - cold;
  }

  /** The buffer and row index holding head h's row r. */
  private rowAt(h: number, r: number, which: 'keys' | 'values'): [KVBuffer, number] {
    const cold = this.coldLen[h]!;
    if (r < cold) return [which === 'keys' ? this.coldKeys : this.coldValues, h * this.coldCap + r];
    return [which === 'keys' ? this.hotKeys : this.hotValues, this.hotRow(h, r, cold)];
  }
}

/** Exchanges a[i..i+n) and b[j..j+n) (raw elements of one dtype; no allocation: rebalances swap rows every step). */
function swapSpan(a: KVBuffer, i: number, b: KVBuffer, j: number, n: number): void {
  // One loop per element type keeps each monomorphic (a union of both ran ~10× slower).
  if (a instanceof Float32Array) swapF32(a, i, b as Float32Array, j, n);
  else swapU16(a, i, b as Uint16Array, j, n);
}

function swapF32(a: Float32Array, i: number, b: Float32Array, j: number, n: number): void {
  for (let x = 0; x < n; x++) {
    const t = a[i + x]!;
    a[i + x] = b[j + x]!;
    b[j + x] = t;
  }
}

function swapU16(a: Uint16Array, i: number, b: Uint16Array, j: number, n: number): void {
  for (let x = 0; x < n; x++) {
    const t = a[i + x]!;
    a[i + x] = b[j + x]!;
    b[j + x] = t;
  }
}
