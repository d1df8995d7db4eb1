/**
 * Dense K/V split between DRAM and a memory-mapped file (the DRAM–flash tier, MNN-LLM's hybrid
 * storage). Head h's `coldLen[h]` cold slots are rows 0.. of its stripe in the tier file,
 * `[kvHeads][coldCap][headDim]`; its hot ones are rows hotStart[h].. of its DRAM stripe,
 * `[kvHeads][hotCap][headDim]`. By age the cold slots are the head's oldest and rows follow
 * slots; by score (tier-slot-map.ts) they are its lowest-scored and a TierSlotMap says which
 * slot each row holds. After every verb a head is rebalanced to the tier's target
 * (TierSpec.coldTarget): by age its oldest hot rows spill to the file, or, after evictions
 * shrank it, its newest cold rows come back; by score rows trade places until the cold rows
 * hold exactly the chosen slots (tier-rebalance.ts). Spilling advances hotStart instead of
 * moving the hot rows; the stripe is packed only when an append finds no room at its end.
 * Policies see one head of slots in order, oldest first, as with DenseKV (decodeHead gathers).
 */
import type { KVBuffer, TierLayout } from '../attention/backend.js';
import { decodeToF32, encodeFromF32 } from '../util/half.js';
import { allocCacheKV } from './kv-alloc.js';
import type { KVStore, StoreLayout } from './kv-store.js';
import type { StorageSpec } from './storage-spec.js';
import type { TierFile } from './tier-file.js';
import type { TierSpec } from './tier-spec.js';

/** Smallest cold stripe a head grows to (rows), so early spills do not reallocate per token. */
const MIN_COLD_ROWS = 64;

export class TieredKV implements KVStore {
  protected hotKeys: KVBuffer;
  protected hotValues: KVBuffer;
  protected hotCap: number;
  protected hotStart: Int32Array;
  protected coldKeys: KVBuffer;
  protected coldValues: KVBuffer;
  protected coldCap = 0;
  protected coldLen: Int32Array;
  /** [kvHeads] slots held (mirrors LayerCache's lengths through the verbs). */
  protected len: Int32Array;
  /** Set by release(): the cold rows' disk is gone, so every verb refuses. */
  private released = false;

  constructor(
    readonly spec: StorageSpec,
    protected readonly kvHeads: number,
    cap: number,
    protected readonly tier: TierSpec,
    private readonly file: TierFile,
  ) {
    this.hotCap = cap;
    this.hotKeys = allocCacheKV(spec.denseDType, kvHeads * cap * spec.headDim);
    this.hotValues = allocCacheKV(spec.denseDType, kvHeads * cap * spec.headDim);
    this.hotStart = new Int32Array(kvHeads);
    this.coldKeys = spec.denseDType === 'f32' ? new Float32Array(0) : new Uint16Array(0);
    this.coldValues = spec.denseDType === 'f32' ? new Float32Array(0) : new Uint16Array(0);
    this.coldLen = new Int32Array(kvHeads);
    this.len = new Int32Array(kvHeads);
  }

  /** Head h's cold slots (on file; by age its oldest). */
  coldSlots(h: number): number {
    return this.coldLen[h]!;
  }

  appendHead(h: number, at: number, k: Float32Array, v: Float32Array, n: number, kvHeads: number): void {
    this.checkLive();
    const d = this.spec.headDim;
    // The file room the spill will need, first: a full disk then fails before anything moved.
    this.ensureColdRows(Math.min(this.tier.coldTarget(at + n), at + n));
    const hot = at - this.coldLen[h]!;
    this.ensureHotRoom(h, hot + n);
    const base = h * this.hotCap + this.hotStart[h]! + hot;
    for (let t = 0; t < n; t++) {
      const src = (t * kvHeads + h) * d;
      encodeFromF32(k.subarray(src, src + d), this.spec.denseDType, this.hotKeys, (base + t) * d);
      encodeFromF32(v.subarray(src, src + d), this.spec.denseDType, this.hotValues, (base + t) * d);
    }
    this.len[h] = at + n;
    this.rebalance(h);
  }

  decodeHead(which: 'keys' | 'values', h: number, len: number): Float32Array {
    this.checkLive();
    const d = this.spec.headDim;
    const cold = Math.min(len, this.coldLen[h]!);
    const out = new Float32Array(len * d);
    const dt = this.spec.denseDType;
    decodeToF32(which === 'keys' ? this.coldKeys : this.coldValues, dt, h * this.coldCap * d, cold * d, out);
    const hot = out.subarray(cold * d);
    decodeToF32(which === 'keys' ? this.hotKeys : this.hotValues, dt, (h * this.hotCap + this.hotStart[h]!) * d, (len - cold) * d, hot);
    return out;
  }

  keepHead(h: number, keep: Int32Array): void {
    this.checkLive();
    const d = this.spec.headDim;
    const cold = this.coldLen[h]!;
    let keptCold = 0;
    while (keptCold < keep.length && keep[keptCold]! < cold) keptCold++;
    // keep is ascending: every row moves towards the front of its own part, so a forward
    // gather is safe in place (cold rows within the file, hot rows within the stripe).
    const c0 = h * this.coldCap;
    for (let r = 0; r < keptCold; r++) this.moveRow(this.coldKeys, this.coldValues, c0 + keep[r]!, c0 + r, d);
    const h0 = h * this.hotCap + this.hotStart[h]!;
    for (let r = keptCold; r < keep.length; r++) this.moveRow(this.hotKeys, this.hotValues, h0 + keep[r]! - cold, h0 + r - keptCold, d);
    this.coldLen[h] = keptCold;
    this.len[h] = keep.length;
    this.rebalance(h);
  }

  writeSlot(h: number, slot: number, key: Float32Array | null, value: Float32Array): void {
    this.checkLive();
    const d = this.spec.headDim;
    const cold = slot < this.coldLen[h]!;
    const row = cold ? h * this.coldCap + slot : h * this.hotCap + this.hotStart[h]! + slot - this.coldLen[h]!;
    if (key) encodeFromF32(key, this.spec.denseDType, cold ? this.coldKeys : this.hotKeys, row * d);
    encodeFromF32(value, this.spec.denseDType, cold ? this.coldValues : this.hotValues, row * d);
  }

  /** LayerCache's stripes now hold cap slots: the hot stripe keeps the same headroom past its longest head. */
  resize(cap: number, lengths: Int32Array): void {
    let longest = 0;
    let hotRows = 0;
    for (let h = 0; h < this.kvHeads; h++) {
      longest = Math.max(longest, lengths[h]!);
      hotRows = Math.max(hotRows, lengths[h]! - this.coldLen[h]!);
    }
    this.reallocHot(hotRows + Math.max(0, cap - longest));
  }

  layout(): StoreLayout {
    this.checkLive();
    const tier: TierLayout = {
      coldKeys: this.coldKeys,
      coldValues: this.coldValues,
      coldCapacity: this.coldCap,
      coldLengths: this.coldLen,
      hotCapacity: this.hotCap,
      hotStart: this.hotStart,
    };
    return { dtype: this.spec.denseDType, keys: this.hotKeys, values: this.hotValues, tier };
  }

  usedBytes(lengths: Int32Array): number {
    let slots = 0;
    for (const l of lengths) slots += l;
    return this.spec.bytes({ coded: 0, keyGroups: 0, dense: slots });
  }

  /** K+V bytes of the valid cold slots (on file). */
  fileBytes(): number {
    let slots = 0;
    for (const c of this.coldLen) slots += c;
    return this.spec.bytes({ coded: 0, keyGroups: 0, dense: slots });
  }

  /** DRAM and file buffers together. */
  allocatedBytes(): number {
    return this.hotKeys.byteLength + this.hotValues.byteLength + this.coldKeys.byteLength + this.coldValues.byteLength;
  }

  /** Asks the OS to read every head's valid cold rows ahead of their use. */
  prefetch(): void {
    const d = this.spec.headDim;
    for (let h = 0; h < this.kvHeads; h++) {
      const a = h * this.coldCap * d;
      const b = a + this.coldLen[h]! * d;
      this.file.prefetch(this.coldKeys.subarray(a, b));
      this.file.prefetch(this.coldValues.subarray(a, b));
    }
  }

  /** A copy whose cold rows go to new regions of `file` (default this store's file). */
  clone(file: TierFile = this.file): TieredKV {
    const c = Object.create(Object.getPrototypeOf(this) as object) as TieredKV;
    Object.assign(c, this, { file });
    c.hotKeys = this.hotKeys.slice();
    c.hotValues = this.hotValues.slice();
    c.hotStart = this.hotStart.slice();
    c.coldLen = this.coldLen.slice();
    c.len = this.len.slice();
    if (this.coldCap > 0) {
      c.coldKeys = file.alloc(this.spec.denseDType, this.coldKeys.length);
      c.coldValues = file.alloc(this.spec.denseDType, this.coldValues.length);
      (c.coldKeys as Float32Array).set(this.coldKeys as Float32Array);
      (c.coldValues as Float32Array).set(this.coldValues as Float32Array);
    }
    return c;
  }

  /** Gives the cold stripes' disk back; every verb refuses afterwards. */
  release(): void {
    this.releaseCold();
    this.released = true;
  }

  protected checkLive(): void {
    if (this.released) throw new Error('tier: this cache was closed (CacheSession.close()) and its slots on file are gone; open a new session');
  }

  /** Returns the cold stripes' regions to the file (they are being replaced, or the store closes). */
  private releaseCold(): void {
    if (this.coldCap === 0) return; // no region yet: the empty stripes are not the file's
    this.file.release(this.coldKeys);
    this.file.release(this.coldValues);
    this.coldCap = 0;
  }

  /** Moves head h to its cold target: spills its oldest hot rows, or recalls its newest cold ones. */
  protected rebalance(h: number): void {
    const target = Math.min(this.tier.coldTarget(this.len[h]!), this.len[h]!);
    const cold = this.coldLen[h]!;
    if (target === cold) return;
    const d = this.spec.headDim;
    if (target > cold) {
      this.ensureColdRows(target);
      const from = h * this.hotCap + this.hotStart[h]!;
      this.copyRows(this.hotKeys, this.hotValues, from, this.coldKeys, this.coldValues, h * this.coldCap + cold, target - cold, d);
      this.hotStart[h] += target - cold;
    } else {
      const back = cold - target;
      this.roomInFront(h, back);
      this.hotStart[h] -= back;
      this.copyRows(this.coldKeys, this.coldValues, h * this.coldCap + target, this.hotKeys, this.hotValues, h * this.hotCap + this.hotStart[h]!, back, d);
    }
    this.coldLen[h] = target;
  }

  /** Makes hotStart[h] ≥ back (room for recalled rows in front of the hot ones): the hot rows move to row `back` of the stripe. */
  protected roomInFront(h: number, back: number): void {
    if (this.hotStart[h]! >= back) return;
    const d = this.spec.headDim;
    const hot = this.len[h]! - this.coldLen[h]!;
    if (hot + back > this.hotCap) this.reallocHot(grown(this.hotCap, hot + back));
    const s = h * this.hotCap;
    const from = s + this.hotStart[h]!;
    this.hotKeys.copyWithin((s + back) * d, from * d, (from + hot) * d);
    this.hotValues.copyWithin((s + back) * d, from * d, (from + hot) * d);
    this.hotStart[h] = back;
  }

  /** Makes room for `rows` hot rows of head h from hotStart[h] on: packs the head to row 0, else grows every stripe. */
  private ensureHotRoom(h: number, rows: number): void {
    if (this.hotStart[h]! + rows <= this.hotCap) return;
    if (rows <= this.hotCap) {
      const d = this.spec.headDim;
      const s = h * this.hotCap;
      const from = s + this.hotStart[h]!;
      const hot = this.len[h]! - this.coldLen[h]!;
      this.hotKeys.copyWithin(s * d, from * d, (from + hot) * d);
      this.hotValues.copyWithin(s * d, from * d, (from + hot) * d);
      this.hotStart[h] = 0;
      return;
    }
    this.reallocHot(grown(this.hotCap, rows));
  }

  /** New hot stripes of `cap` rows, each head's hot rows packed at row 0. */
  private reallocHot(cap: number): void {
    const d = this.spec.headDim;
    const keys = allocCacheKV(this.spec.denseDType, this.kvHeads * cap * d);
    const values = allocCacheKV(this.spec.denseDType, this.kvHeads * cap * d);
    for (let h = 0; h < this.kvHeads; h++) {
      const hot = this.len[h]! - this.coldLen[h]!;
      this.copyRows(this.hotKeys, this.hotValues, h * this.hotCap + this.hotStart[h]!, keys, values, h * cap, hot, d);
      this.hotStart[h] = 0;
    }
    this.hotKeys = keys;
    this.hotValues = values;
    this.hotCap = cap;
  }

  /** Cold stripes of at least `rows` rows per head (doubling; new file regions, the old ones released). */
  protected ensureColdRows(rows: number): void {
    if (rows <= this.coldCap) return;
    const cap = grown(Math.max(this.coldCap, MIN_COLD_ROWS), rows);
    const d = this.spec.headDim;
    const dt = this.spec.denseDType;
    const keys = this.file.alloc(dt, this.kvHeads * cap * d);
    let values: KVBuffer;
    try {
      values = this.file.alloc(dt, this.kvHeads * cap * d);
    } catch (err) {
      this.file.release(keys);
      throw err;
    }
    for (let h = 0; h < this.kvHeads; h++) this.copyRows(this.coldKeys, this.coldValues, h * this.coldCap, keys, values, h * cap, this.coldLen[h]!, d);
    this.releaseCold();
    this.coldKeys = keys;
    this.coldValues = values;
    this.coldCap = cap;
  }

  protected copyRows(srcK: KVBuffer, srcV: KVBuffer, from: number, dstK: KVBuffer, dstV: KVBuffer, to: number, rows: number, d: number): void {
    if (rows <= 0) return;
    (dstK as Float32Array).set((srcK as Float32Array).subarray(from * d, (from + rows) * d), to * d);
    (dstV as Float32Array).set((srcV as Float32Array).subarray(from * d, (from + rows) * d), to * d);
  }

  protected moveRow(keys: KVBuffer, values: KVBuffer, from: number, to: number, d: number): void {
    if (from === to) return;
    keys.copyWithin(to * d, from * d, (from + 1) * d);
    values.copyWithin(to * d, from * d, (from + 1) * d);
  }
}

/** The first doubling of cap (at least 1) that holds rows. */
function grown(cap: number, rows: number): number {
  let c = Math.max(cap, 1);
  while (c < rows) c *= 2;
  return c;
}
