/**
 * What the kv-storage bench compares per storage type: next-token distributions against the
 * f32 cache's, summarised as KL(p_f32 ‖ p_storage) in nats (mean, p99, max over the compared
 * positions or samples) and the share whose argmax changed.
 */

/** softmax of logits [vocab] f32, in f64. */
export function softmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const x of logits) max = Math.max(max, x);
  const p = Float64Array.from(logits, (x) => Math.exp(x - max));
  const sum = p.reduce((a, b) => a + b, 0);
  return p.map((x) => x / sum);
}

/** KL(p ‖ q) in nats; q is floored at 1e-300 so a vanishing q gives a large, finite value. */
export function kl(p: Float64Array, q: Float64Array): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) if (p[i]! > 0) s += p[i]! * Math.log(p[i]! / Math.max(q[i]!, 1e-300));
  return s;
}

export const argmax = (x: Float64Array): number => x.reduce((best, v, i) => (v > x[best]! ? i : best), 0);

export interface KLSummary {
  mean: number;
  p99: number;
  max: number;
  /** Fraction of positions whose most likely token differs from the reference's. */
  argmaxChanged: number;
}

/** KL of each `run` distribution against the `ref` one at the same index, summarised. */
export function summariseKL(ref: readonly Float64Array[], run: readonly Float64Array[]): KLSummary {
  if (ref.length !== run.length || ref.length === 0) throw new RangeError(`summariseKL: need equal, non-empty lists; got ${ref.length} and ${run.length}`);
  const kls = ref.map((p, i) => kl(p, run[i]!)).sort((a, b) => a - b);
  const changed = ref.filter((p, i) => argmax(p) !== argmax(run[i]!)).length / kls.length;
  return {
    mean: kls.reduce((a, b) => a + b, 0) / kls.length,
    p99: kls[Math.min(kls.length - 1, Math.floor(0.99 * kls.length))]!,
    max: kls[kls.length - 1]!,
    argmaxChanged: changed,
  };
}

/** The KL cells of a table row: mean | p99 | max | argmax changed. */
export function klCells(s: KLSummary): string {
  return `${s.mean.toExponential(2)} | ${s.p99.toExponential(2)} | ${s.max.toExponential(2)} | ${(100 * s.argmaxChanged).toFixed(1)} %`;
}
