/**
 * A DRAM–flash tier by score (backend.ts TierLayout.rowSlots) on the CPU kernels: they stream
 * each head's cold rows, then its hot rows, as by age, and treat row r as slot r. Attention is
 * a sum over slots, so that order gives the same output once each row carries its own slot's
 * position and modality (the causal mask and `flows` read them) — storageOrderLayout hands
 * them over in row order — and the slot-aligned statistics, which the kernels write by row,
 * go back to slot order (statsToSlotOrder). Both are O(slots) per call, no K/V is copied.
 */
import type { KVLayout } from '../backend.js';
import type { RawStats } from './addon.js';

/** The fields of a layout (KVLayout or the addon's RawKVLayout) these read. */
type RowOrdered = Pick<KVLayout, 'kvHeads' | 'capacity' | 'lengths' | 'positions' | 'modality' | 'tier'>;

/** The slot-aligned statistics ([kvHeads][capacity] f32 each). */
const SLOT_STATS = ['cumulative', 'window', 'lastQuery', 'textColumn', 'redistributed'] as const;

/** kv with positions and modality of every head in the row order of tier.rowSlots. */
export function storageOrderLayout<L extends RowOrdered>(kv: L): L {
  const map = kv.tier?.rowSlots;
  if (!map) return kv;
  const positions = new Int32Array(kv.positions.length);
  const modality = new Uint8Array(kv.modality.length);
  for (let h = 0; h < kv.kvHeads; h++) {
    const b = h * kv.capacity;
    for (let r = 0; r < kv.lengths[h]!; r++) {
      const s = b + map[b + r]!;
      positions[b + r] = kv.positions[s]!;
      modality[b + r] = kv.modality[s]!;
    }
  }
  return { ...kv, positions, modality };
}

/** Moves the slot-aligned statistics the kernels wrote by row (storageOrderLayout) to their slots, in place. */
export function statsToSlotOrder(raw: RawStats, kv: RowOrdered): void {
  const map = kv.tier?.rowSlots;
  if (!map) return;
  let longest = 0;
  for (const len of kv.lengths) longest = Math.max(longest, len);
  const byRow = new Float32Array(longest);
  for (const name of SLOT_STATS) {
    const stat = raw[name];
    if (!stat) continue;
    for (let h = 0; h < kv.kvHeads; h++) {
      const b = h * kv.capacity;
      const len = kv.lengths[h]!;
      byRow.set(stat.subarray(b, b + len));
      for (let r = 0; r < len; r++) stat[b + map[b + r]!] = byRow[r]!;
    }
  }
}
