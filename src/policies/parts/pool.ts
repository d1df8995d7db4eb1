/** 1-D pooling over slot positions (SnapKV's "clustering" of neighbouring scores). */

/**
 * Centred window of `kernel` (odd, ≥ 1) slots, output the same length as the input. Edges
 * use only the available neighbours: avg divides by the number of neighbours present (torch's
 * avg_pool1d with zero padding divides by `kernel`, which lowers edge scores; SnapKV's code does
 * that — ours does not, so edge tokens are not penalised for being at an edge).
 * `scores`: [len] any unit. Returns Float32Array [len].
 */
export function pool1d(scores: ArrayLike<number>, kernel: number, mode: 'avg' | 'max'): Float32Array {
  if (!Number.isInteger(kernel) || kernel < 1 || kernel % 2 === 0) {
    throw new RangeError(`pool1d: kernel must be an odd integer ≥ 1; got ${kernel}`);
  }
  if (mode !== 'avg' && mode !== 'max') throw new RangeError(`pool1d: mode must be "avg" or "max"; got "${String(mode)}"`);
  const n = scores.length;
  const out = new Float32Array(n);
  const half = (kernel - 1) / 2;
  if (mode === 'avg') {
    const prefix = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i]! + scores[i]!;
    for (let i = 0; i < n; i++) {
      const lo = Math.max(0, i - half);
      const hi = Math.min(n, i + half + 1);
      out[i] = (prefix[hi]! - prefix[lo]!) / (hi - lo);
    }
  } else {
    for (let i = 0; i < n; i++) {
      let m = -Infinity;
      const hi = Math.min(n, i + half + 1);
      for (let j = Math.max(0, i - half); j < hi; j++) if (scores[j]! > m) m = scores[j]!;
      out[i] = m;
    }
  }
  return out;
}
