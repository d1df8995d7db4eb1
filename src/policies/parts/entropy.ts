/** Entropy of attention mass distributions (layer allocators of D2O and MEDA). */

/**
 * Shannon entropy (nats) of the non-negative masses x[i] for the indices `allowed` accepts,
 * normalised by log(count) to [0, 1] (1 = uniform, "dense" attention). 0 when fewer than two
 * entries or no mass.
 */
export function normalizedEntropy(x: ArrayLike<number>, allowed?: (i: number) => boolean): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < x.length; i++) {
    if (allowed && !allowed(i)) continue;
    sum += Math.max(0, x[i]!);
    n++;
  }
  if (n < 2 || !(sum > 0)) return 0;
  let h = 0;
  for (let i = 0; i < x.length; i++) {
    if (allowed && !allowed(i)) continue;
    const p = Math.max(0, x[i]!) / sum;
    if (p > 0) h -= p * Math.log(p);
  }
  return h / Math.log(n);
}

/** Softmax of x / temperature (numerically stable). */
export function softmax(x: readonly number[], temperature = 1): number[] {
  if (!(temperature > 0)) throw new RangeError(`softmax: temperature must be > 0; got ${temperature}`);
  const m = Math.max(...x);
  const e = x.map((v) => Math.exp((v - m) / temperature));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}
