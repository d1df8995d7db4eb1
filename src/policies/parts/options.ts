/** zod option fragments shared by several policies (one default and one doc per knob). */
import { z } from 'zod';

/** SnapKV-family observation window: last w prompt queries score keys; last w slots are kept. */
export const windowOption = (def: number) =>
  z.number().int().min(1).default(def).describe('observation window w: the last w queries score the keys and the last w slots are always kept (counted in the budget)');

export const kernelOption = (def: number) =>
  z
    .number()
    .int()
    .min(1)
    .refine((k) => k % 2 === 1, { message: 'must be an odd integer ≥ 1' })
    .default(def)
    .describe('1-D pooling kernel over slot positions (odd; 1 = no pooling)');

export const poolingOption = (def: 'avg' | 'max') =>
  z.enum(['avg', 'max']).default(def).describe('pooling of neighbouring scores: avg or max');

export const recentShareOption = (def: number) =>
  z.number().min(0).max(1).default(def).describe('fraction of the budget kept as the most recent slots (the rest goes to heavy hitters)');

export const mergeVariantOption = (def: 'average' | 'pivotal' | 'weighted') =>
  z
    .enum(['average', 'pivotal', 'weighted'])
    .default(def)
    .describe('LOOK-M merge: average (scatter-mean), pivotal (average with the target first), weighted (by key cosine)');

/** Slots kept as the recent window of a given budget. */
export function recentSlots(budget: number, share: number): number {
  return Math.min(budget, Math.round(budget * share));
}
