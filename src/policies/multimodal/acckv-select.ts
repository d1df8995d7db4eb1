/**
 * AccKV (arXiv 2511.11106), step 4: the budget split between text and media. The paper does
 * not describe it [INF]; default: keep every text slot and fill the rest with one global
 * top-k over the focused scores Ŝ of the media slots (the focusing weights then set the
 * modality split implicitly). Option 'proportional': k_m ∝ W_m·|m| (largest remainder, capped
 * by |m|, leftovers to the next modality), then top-k_m inside each modality. When the text
 * alone exceeds the budget the top-B text slots by score are kept. With keepText off, one
 * global top-k over Ŝ of every slot.
 */
import { roundToTotal } from '../parts/allocators.js';
import { topK, unionSorted } from '../parts/select.js';
import { ModalityCode } from '../../cache/modality.js';
import { MEDIA_CODES } from './modality-groups.js';

export type BudgetSplit = 'global' | 'proportional';

/**
 * The slots one KV head keeps. focused: [len] Ŝ; groups: slots per modality code;
 * weights: focusing weights per code. Returns ascending slot indices (at most budget).
 */
export function selectWithinBudget(
  focused: Float32Array,
  modality: Uint8Array,
  groups: Int32Array[],
  weights: Float64Array,
  budget: number,
  split: BudgetSplit,
  keepText: boolean,
): Int32Array {
  if (!keepText) return topK(focused, budget);
  const text = groups[ModalityCode.text]!;
  if (text.length >= budget) return topK(focused, budget, (i) => modality[i] === ModalityCode.text);
  const mediaBudget = budget - text.length;
  if (split === 'global') return unionSorted(text, topK(focused, mediaBudget, (i) => modality[i] !== ModalityCode.text));
  const quotas = proportionalQuotas(groups, weights, mediaBudget);
  const parts: Int32Array[] = [text];
  MEDIA_CODES.forEach((m, i) => {
    if (quotas[i]! > 0) parts.push(topK(focused, quotas[i]!, (j) => modality[j] === m));
  });
  return unionSorted(...parts);
}

/** Per media code (MEDIA_CODES order) slot quotas ∝ W_m·|m|, capped by |m|, summing to ≤ total. */
export function proportionalQuotas(groups: Int32Array[], weights: Float64Array, total: number): number[] {
  const sizes = MEDIA_CODES.map((m) => groups[m]!.length);
  const want = MEDIA_CODES.map((m, i) => weights[m]! * sizes[i]!);
  const sum = want.reduce((a, b) => a + b, 0);
  const capacity = sizes.reduce((a, b) => a + b, 0);
  let left = Math.min(total, capacity);
  const raw = sum > 0 ? want.map((w) => (w / sum) * left) : sizes.map((s) => (s / Math.max(1, capacity)) * left);
  const quotas = roundToTotal(raw, left).map((q, i) => Math.min(q, sizes[i]!));
  left -= quotas.reduce((a, b) => a + b, 0);
  // Hand what a capped modality could not use to the others, highest weight first.
  const order = MEDIA_CODES.map((_, i) => i).sort((a, b) => want[b]! - want[a]! || a - b);
  for (const i of order) {
    const extra = Math.min(left, sizes[i]! - quotas[i]!);
    quotas[i]! += extra;
    left -= extra;
  }
  return quotas;
}

/**
 * Up to `count` media slots outside `selected` (mask [len]), best focused score first (ties →
 * lower index): slots of the priority modality always qualify, the others only where
 * `passes(candidates)[j]` (a mask over len) is set. Returns ascending slot indices.
 */
export function refillSlots(
  focused: Float32Array,
  modality: Uint8Array,
  selected: Uint8Array,
  count: number,
  priority: number,
  passes: (candidates: Int32Array) => Uint8Array,
): Int32Array {
  const candidates: number[] = [];
  for (let j = 0; j < modality.length; j++) if (!selected[j] && modality[j] !== ModalityCode.text) candidates.push(j);
  const low = Int32Array.from(candidates.filter((j) => modality[j] !== priority));
  const ok = passes(low);
  const eligible = candidates.filter((j) => modality[j] === priority || ok[j] === 1);
  const key = (j: number) => (Number.isNaN(focused[j]!) ? -Infinity : focused[j]!);
  eligible.sort((a, b) => key(b) - key(a) || a - b);
  return Int32Array.from(eligible.slice(0, Math.max(0, count))).sort();
}
