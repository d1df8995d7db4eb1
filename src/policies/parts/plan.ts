/** Building and checking Plans (one HeadPlan per KV head). */
import type { HeadPlan, MergeOp, Plan } from '../../cache/policy-api.js';

/**
 * A Plan from the kept slots of each KV head, with optional merges and retained slots per
 * head. keep arrays must be strictly ascending (what every selector in ./select returns).
 */
export function planFromKeep(keepPerHead: Int32Array[], extras: { merges?: MergeOp[][]; retain?: Int32Array[] } = {}): Plan {
  const heads: HeadPlan[] = keepPerHead.map((keep, h) => {
    assertAscending(keep, `planFromKeep: keepPerHead[${h}]`);
    const head: HeadPlan = { keep };
    const merges = extras.merges?.[h];
    if (merges && merges.length > 0) head.merges = merges;
    const retain = extras.retain?.[h];
    if (retain && retain.length > 0) head.retain = retain;
    return head;
  });
  return { heads };
}

export function assertAscending(idx: ArrayLike<number>, where: string): void {
  for (let i = 1; i < idx.length; i++) {
    if (!(idx[i]! > idx[i - 1]!)) {
      throw new RangeError(`${where} must be strictly ascending slot indices; entry ${i} is ${idx[i]} after ${idx[i - 1]}`);
    }
  }
}

/**
 * Checks a policy's plan against the layer it was made for: one head plan per KV head, keep
 * ascending and in range, merge targets kept and sources evicted. Throws naming the field.
 */
export function validatePlan(plan: Plan, lengths: ArrayLike<number>, where = 'plan'): void {
  if (plan === null) return;
  if (plan.heads.length !== lengths.length) {
    throw new RangeError(`${where}.heads has ${plan.heads.length} entries; expected one per KV head (${lengths.length})`);
  }
  plan.heads.forEach((hp, h) => {
    const len = lengths[h]!;
    assertAscending(hp.keep, `${where}.heads[${h}].keep`);
    if (hp.keep.length > 0 && (hp.keep[0]! < 0 || hp.keep[hp.keep.length - 1]! >= len)) {
      throw new RangeError(`${where}.heads[${h}].keep must index slots 0..${len - 1}`);
    }
    const kept = new Uint8Array(len);
    for (const k of hp.keep) kept[k] = 1;
    for (const [m, op] of (hp.merges ?? []).entries()) {
      if (!kept[op.into]) throw new RangeError(`${where}.heads[${h}].merges[${m}].into (${op.into}) must be a kept slot`);
      for (let i = 0; i < op.from.length; i++) {
        const f = op.from[i]!;
        if (!(f >= 0 && f < len)) throw new RangeError(`${where}.heads[${h}].merges[${m}].from[${i}] (${f}) must index slots 0..${len - 1}`);
        if (op.target !== 'v' && kept[f]) throw new RangeError(`${where}.heads[${h}].merges[${m}].from[${i}] (${f}) is kept; a kv merge folds evicted slots`);
      }
      if (op.coef && op.coef.length !== op.from.length) {
        throw new RangeError(`${where}.heads[${h}].merges[${m}].coef has ${op.coef.length} entries; expected ${op.from.length} (one per from)`);
      }
    }
  });
}
