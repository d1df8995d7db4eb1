/**
 * Checks a Plan against the layer it will be applied to, before anything is touched, so a
 * policy bug never leaves a half-applied cache. Errors name the layer, head, field and index.
 *
 * What must hold per head (len = slots of that head now):
 * - keep: Int32Array, strictly ascending, every index in [0, len).
 * - merges: `into` is kept; every `from` is in range, not kept, not repeated within the op and
 *   not `into`; `coef` (if given) has one finite entry per `from`; `selfCoef` finite; merges
 *   into the same slot agree on `normalize` and `selfCoef` (they combine into one mean, the
 *   target counted once); a slot is folded into at most one *normalized* merge (otherwise its
 *   weight would be counted twice; additive merges may reuse a source).
 * - retain: Int32Array of distinct, in-range, not-kept slots; `retainStrength` (if given) one
 *   finite value ≥ 0 per retained slot; `retainDecay` (if given) one value in (0, 1] per
 *   retained slot; `retainShare` (if given) in [0, 1]; a RetentionStore must be present.
 */
import type { HeadPlan, MergeOp, Plan } from './policy-api.js';

export interface PlanCheckContext {
  layer: number;
  kvHeads: number;
  lengths: Int32Array;
  hasRetention: boolean;
}

function err(c: PlanCheckContext, h: number | null, msg: string): never {
  throw new RangeError(`plan for layer ${c.layer}${h === null ? '' : `, kv head ${h}`}: ${msg}`);
}

export function validatePlan(plan: Plan, c: PlanCheckContext): void {
  if (plan === null) return;
  if (!plan || typeof plan !== 'object' || !Array.isArray(plan.heads)) {
    throw new TypeError(`plan for layer ${c.layer} must be { heads: HeadPlan[] } or null`);
  }
  if (plan.heads.length !== c.kvHeads) err(c, null, `has ${plan.heads.length} head plans; expected one per KV head (${c.kvHeads})`);
  plan.heads.forEach((hp, h) => validateHeadPlan(hp, h, c));
}

function validateHeadPlan(hp: HeadPlan, h: number, c: PlanCheckContext): void {
  const len = c.lengths[h]!;
  if (!hp || typeof hp !== 'object') err(c, h, 'head plan must be an object { keep, merges?, retain?, retainStrength? }');
  if (!(hp.keep instanceof Int32Array)) err(c, h, 'keep must be an Int32Array of slot indices');
  const kept = new Uint8Array(len);
  let prev = -1;
  for (let r = 0; r < hp.keep.length; r++) {
    const s = hp.keep[r]!;
    if (s < 0 || s >= len) err(c, h, `keep[${r}] = ${s} is outside [0, ${len})`);
    if (s <= prev) err(c, h, `keep must be strictly ascending; keep[${r}] = ${s} follows ${prev}`);
    kept[s] = 1;
    prev = s;
  }
  if (hp.merges !== undefined) validateMerges(hp.merges, kept, h, c);
  if (hp.retain !== undefined) {
    if (!(hp.retain instanceof Int32Array)) err(c, h, 'retain must be an Int32Array of slot indices');
    const seen = new Uint8Array(len);
    for (let r = 0; r < hp.retain.length; r++) {
      const s = hp.retain[r]!;
      if (s < 0 || s >= len) err(c, h, `retain[${r}] = ${s} is outside [0, ${len})`);
      if (kept[s]) err(c, h, `retain[${r}] = ${s} is also kept; only slots that leave can be retained`);
      if (seen[s]) err(c, h, `retain lists slot ${s} twice`);
      seen[s] = 1;
    }
    if (hp.retain.length > 0 && !c.hasRetention) err(c, h, `retains ${hp.retain.length} slots but the policy has no RetentionStore`);
  }
  if (hp.retainShare !== undefined && !(typeof hp.retainShare === 'number' && hp.retainShare >= 0 && hp.retainShare <= 1)) {
    err(c, h, `retainShare = ${String(hp.retainShare)}; expected a number in [0, 1]`);
  }
  if (hp.retainStrength !== undefined) {
    const n = hp.retain?.length ?? 0;
    if (!(hp.retainStrength instanceof Float32Array) || hp.retainStrength.length !== n) {
      err(c, h, `retainStrength must be a Float32Array with one entry per retained slot (${n})`);
    }
    hp.retainStrength.forEach((x, i) => {
      if (!Number.isFinite(x) || x < 0) err(c, h, `retainStrength[${i}] = ${x}; expected a finite number ≥ 0`);
    });
  }
  if (hp.retainDecay !== undefined) {
    const n = hp.retain?.length ?? 0;
    if (!(hp.retainDecay instanceof Float32Array) || hp.retainDecay.length !== n) {
      err(c, h, `retainDecay must be a Float32Array with one entry per retained slot (${n})`);
    }
    hp.retainDecay.forEach((x, i) => {
      if (!(x > 0 && x <= 1)) err(c, h, `retainDecay[${i}] = ${x}; expected a number in (0, 1]`);
    });
  }
}

function validateMerges(merges: MergeOp[], kept: Uint8Array, h: number, c: PlanCheckContext): void {
  if (!Array.isArray(merges)) err(c, h, 'merges must be an array of MergeOp');
  const len = kept.length;
  const stamp = new Int32Array(len).fill(-1);
  const normalizedSource = new Uint8Array(len);
  const firstInto = new Map<number, MergeOp>();
  merges.forEach((m, k) => {
    const at = `merges[${k}]`;
    if (!m || typeof m !== 'object') err(c, h, `${at} must be a MergeOp { into, from, ... }`);
    if (!Number.isInteger(m.into) || m.into < 0 || m.into >= len) err(c, h, `${at}.into = ${m.into} is outside [0, ${len})`);
    if (!kept[m.into]) err(c, h, `${at}.into = ${m.into} is not kept; a merge must land on a surviving slot`);
    if (m.target !== undefined && m.target !== 'kv' && m.target !== 'v') err(c, h, `${at}.target must be 'kv' or 'v'; got ${String(m.target)}`);
    if (m.normalize !== undefined && typeof m.normalize !== 'boolean') err(c, h, `${at}.normalize must be a boolean`);
    if (m.selfCoef !== undefined && !Number.isFinite(m.selfCoef)) err(c, h, `${at}.selfCoef must be a finite number; got ${m.selfCoef}`);
    if (!m.from || typeof m.from.length !== 'number') err(c, h, `${at}.from must be an array of slot indices`);
    if (m.coef !== undefined && (!m.coef || m.coef.length !== m.from.length)) {
      err(c, h, `${at}.coef must have one entry per from slot (${m.from.length}); got ${m.coef?.length}`);
    }
    const normalize = m.normalize !== false;
    for (let i = 0; i < m.from.length; i++) {
      const s = m.from[i]!;
      if (!Number.isInteger(s) || s < 0 || s >= len) err(c, h, `${at}.from[${i}] = ${s} is outside [0, ${len})`);
      if (s === m.into) err(c, h, `${at}.from[${i}] = ${s} is the merge target itself`);
      if (kept[s]) err(c, h, `${at}.from[${i}] = ${s} is kept; only slots that leave can be merged`);
      if (stamp[s] === k) err(c, h, `${at}.from lists slot ${s} twice`);
      stamp[s] = k;
      if (normalize) {
        if (normalizedSource[s]) err(c, h, `slot ${s} is folded into more than one normalized merge; its weight would count twice`);
        normalizedSource[s] = 1;
      }
      if (m.coef !== undefined && !Number.isFinite(m.coef[i]!)) err(c, h, `${at}.coef[${i}] = ${m.coef[i]}; expected a finite number`);
    }
    const first = firstInto.get(m.into);
    if (first === undefined) firstInto.set(m.into, m);
    else if ((first.normalize !== false) !== normalize || first.selfCoef !== m.selfCoef) {
      err(c, h, `${at} merges into slot ${m.into} like an earlier op but with a different normalize/selfCoef; merges into one slot must agree`);
    }
  });
}
