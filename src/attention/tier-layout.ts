/**
 * Reading a DRAM–flash tiered layout (backend.ts TierLayout) without the native kernels: one
 * head's rows gathered from its cold (file) and hot (DRAM) parts, or the whole layer as an
 * ordinary dense layout — what the TS reference and CUDA (which reads DRAM K/V only) attend over.
 */
import type { KVBuffer, KVLayout, TierLayout } from './backend.js';

const WHERE = 'attend: args.kv.tier';

/** Checks a tier's shape against its layout; a RangeError names the field otherwise. */
export function validateTier(kv: KVLayout, tier: TierLayout): void {
  const { kvHeads, headDim: d } = kv;
  for (const f of ['coldCapacity', 'hotCapacity'] as const) {
    if (!Number.isInteger(tier[f]) || tier[f] < 0) throw new RangeError(`${WHERE}.${f} must be an integer ≥ 0; got ${tier[f]}`);
  }
  for (const f of ['coldLengths', 'hotStart'] as const) {
    if (!(tier[f] instanceof Int32Array) || tier[f].length !== kvHeads) throw new RangeError(`${WHERE}.${f} must be an Int32Array of kvHeads = ${kvHeads} entries`);
  }
  const cold = kvHeads * tier.coldCapacity * d;
  const hot = kvHeads * tier.hotCapacity * d;
  const sizes: [string, KVBuffer, number][] = [['coldKeys', tier.coldKeys, cold], ['coldValues', tier.coldValues, cold], ['keys', kv.keys, hot], ['values', kv.values, hot]];
  for (const [name, buf, want] of sizes) {
    if (buf?.length !== want) throw new RangeError(`${WHERE}: ${name} has ${buf?.length ?? 'no'} elements; expected ${want} (kvHeads×${name.startsWith('cold') ? 'coldCapacity' : 'hotCapacity'}×headDim)`);
  }
  for (let h = 0; h < kvHeads; h++) {
    const len = kv.lengths[h]!;
    const c = tier.coldLengths[h]!;
    if (c < 0 || c > len || c > tier.coldCapacity) throw new RangeError(`${WHERE}.coldLengths[${h}] = ${c} is outside [0, min(lengths[${h}] = ${len}, coldCapacity = ${tier.coldCapacity})]`);
    const start = tier.hotStart[h]!;
    if (start < 0 || start + len - c > tier.hotCapacity) throw new RangeError(`${WHERE}.hotStart[${h}] = ${start} with ${len - c} hot slots runs past hotCapacity = ${tier.hotCapacity}`);
  }
  if (tier.rowSlots !== undefined) validateRowSlots(kv, tier.rowSlots);
}

/** rowSlots must hold, for each head, a permutation of its slots 0..lengths[h]−1. */
function validateRowSlots(kv: KVLayout, rowSlots: Int32Array): void {
  if (!(rowSlots instanceof Int32Array) || rowSlots.length !== kv.kvHeads * kv.capacity) {
    throw new RangeError(`${WHERE}.rowSlots must be an Int32Array of kvHeads×capacity = ${kv.kvHeads * kv.capacity} entries`);
  }
  const seen = new Uint8Array(kv.capacity);
  for (let h = 0; h < kv.kvHeads; h++) {
    const len = kv.lengths[h]!;
    seen.fill(0, 0, len);
    for (let r = 0; r < len; r++) {
      const s = rowSlots[h * kv.capacity + r]!;
      if (!(s >= 0 && s < len) || seen[s]) throw new RangeError(`${WHERE}.rowSlots of head ${h} must be a permutation of its slots 0..${len - 1}; row ${r} holds ${s}`);
      seen[s] = 1;
    }
  }
}

/** Copies rows [0, lengths[h]) of head h's keys or values into dst (raw elements of kv.dtype) at dstOffset. */
export function gatherTierHead(kv: KVLayout, tier: TierLayout, which: 'keys' | 'values', h: number, dst: KVBuffer, dstOffset: number): void {
  const d = kv.headDim;
  const cold = tier.coldLengths[h]!;
  const hotRows = kv.lengths[h]! - cold;
  const coldBuf = which === 'keys' ? tier.coldKeys : tier.coldValues;
  const hotBuf = which === 'keys' ? kv.keys : kv.values;
  const c0 = h * tier.coldCapacity * d;
  const h0 = (h * tier.hotCapacity + tier.hotStart[h]!) * d;
  const map = tier.rowSlots;
  if (!map) {
    (dst as Float32Array).set((coldBuf as Float32Array).subarray(c0, c0 + cold * d), dstOffset);
    (dst as Float32Array).set((hotBuf as Float32Array).subarray(h0, h0 + hotRows * d), dstOffset + cold * d);
    return;
  }
  // By score: row r holds slot map[h·capacity + r]; the copy is in slot order.
  for (let r = 0; r < cold + hotRows; r++) {
    const from = r < cold ? c0 + r * d : h0 + (r - cold) * d;
    const row = ((r < cold ? coldBuf : hotBuf) as Float32Array).subarray(from, from + d);
    (dst as Float32Array).set(row, dstOffset + map[h * kv.capacity + r]! * d);
  }
}

/** The layer as a plain dense layout ([kvHeads][capacity][headDim] copies of its K/V). */
export function untieredLayout(kv: KVLayout): KVLayout {
  const { tier, ...rest } = kv;
  if (!tier) return kv;
  validateTier(kv, tier);
  const stripe = kv.capacity * kv.headDim;
  const make = (): KVBuffer => (kv.dtype === 'f32' ? new Float32Array(kv.kvHeads * stripe) : new Uint16Array(kv.kvHeads * stripe));
  const keys = make();
  const values = make();
  for (let h = 0; h < kv.kvHeads; h++) {
    gatherTierHead(kv, tier, 'keys', h, keys, h * stripe);
    gatherTierHead(kv, tier, 'values', h, values, h * stripe);
  }
  return { ...rest, keys, values };
}
