/**
 * The merge algebra of MergeOp (src/policies/types.ts), computed from a snapshot of one head
 * before the plan changes anything (so merges commute).
 *
 * For a target slot t and every op landing on it (they combine; t is counted once):
 *   normalized (default): x[t] = (selfCoef·x[t] + Σ coef_i·x[from_i]) / (selfCoef + Σ coef_i)
 *                         coefficients default to the slots' weights; weight[t] += Σ weight[from]
 *   additive (normalize: false): x[t] = selfCoef·x[t] + Σ coef_i·x[from_i]
 *                         coefficients default to 1 (ours: "the sum as is"); weights unchanged
 * Keys take only the ops whose target is 'kv' (the default); values take every op.
 */
import type { MergeOp } from './policy-api.js';

/** New contents of the slots some merge lands on (pre-plan slot indices). */
export interface MergedSlots {
  into: number[];
  /** [headDim] f32 per target, or null when no op touches its key. */
  keys: (Float32Array | null)[];
  /** [headDim] f32 per target. */
  values: Float32Array[];
  weight: number[];
}

/**
 * Computes every merge of one head's plan. merges: validated ops; weights [len] the slots'
 * weights, keys / values [len][headDim] f32 the head's rows, all before the plan.
 * `where` prefixes errors (e.g. "plan for layer 3, kv head 1").
 */
export function computeMerges(merges: readonly MergeOp[], weights: Float32Array, keys: Float32Array, values: Float32Array, headDim: number, where: string): MergedSlots {
  const groups = new Map<number, MergeOp[]>();
  for (const m of merges) {
    const g = groups.get(m.into);
    if (g) g.push(m);
    else groups.set(m.into, [m]);
  }
  const out: MergedSlots = { into: [], keys: [], values: [], weight: [] };
  const d = headDim;
  for (const [t, ops] of groups) {
    const normalize = ops[0]!.normalize !== false;
    const self = ops[0]!.selfCoef ?? (normalize ? weights[t]! : 1);
    const accK = new Float64Array(headDim);
    const accV = new Float64Array(headDim);
    let denK = self;
    let denV = self;
    let touchesKeys = false;
    let weight = weights[t]!;
    addRow(accK, self, keys, t * d, d);
    addRow(accV, self, values, t * d, d);
    for (const op of ops) {
      const kv = op.target !== 'v';
      touchesKeys ||= kv;
      for (let i = 0; i < op.from.length; i++) {
        const s = op.from[i]!;
        const c = op.coef !== undefined ? op.coef[i]! : normalize ? weights[s]! : 1;
        if (normalize) weight += weights[s]!;
        addRow(accV, c, values, s * d, d);
        denV += c;
        if (kv) {
          addRow(accK, c, keys, s * d, d);
          denK += c;
        }
      }
    }
    if (normalize) {
      const bad = !(denV > 0) || (touchesKeys && !(denK > 0));
      if (bad) throw new RangeError(`${where}: merge into slot ${t} has coefficient sum ${touchesKeys ? denK : denV}; a normalized merge needs a sum > 0`);
    }
    out.into.push(t);
    out.keys.push(touchesKeys ? scaled(accK, normalize ? 1 / denK : 1) : null);
    out.values.push(scaled(accV, normalize ? 1 / denV : 1));
    out.weight.push(weight);
  }
  return out;
}

function scaled(acc: Float64Array, f: number): Float32Array {
  const out = new Float32Array(acc.length);
  for (let i = 0; i < acc.length; i++) out[i] = acc[i]! * f;
  return out;
}

/** acc[0..d) += c · x[off..off+d) */
function addRow(acc: Float64Array, c: number, x: Float32Array, off: number, d: number): void {
  for (let i = 0; i < d; i++) acc[i] += c * x[off + i]!;
}
