/**
 * Percentile bootstrap confidence intervals for a mean (Efron & Tibshirani, "An Introduction
 * to the Bootstrap", 1993, ch. 13): resample the n values with replacement `resamples` times,
 * take each resample's mean, and read the interval off the sorted means at the (1 − c)/2 and
 * (1 + c)/2 quantiles (linear interpolation between order statistics). For paired
 * comparisons the values are per-sample differences, so sample difficulty cancels out.
 * Seeded (mulberry32), so a report prints the same interval every time.
 */
import { mulberry32 } from '../../util/random.js';

export interface BootstrapOptions {
  /** Resamples drawn (default 10,000). */
  resamples?: number;
  /** Two-sided coverage, in (0, 1) (default 0.95). */
  confidence?: number;
  /** Seed of the resampling (default 0). */
  seed?: number;
}

export interface MeanInterval {
  /** Mean of the values themselves (the point estimate). */
  mean: number;
  lo: number;
  hi: number;
  /** Values resampled (samples). */
  n: number;
  resamples: number;
  confidence: number;
}

/** The percentile-bootstrap interval of the mean of `values` (at least one value). */
export function bootstrapMean(values: ArrayLike<number>, opts: BootstrapOptions = {}): MeanInterval {
  const { resamples = 10_000, confidence = 0.95, seed = 0 } = opts;
  const n = values.length;
  if (n === 0) throw new RangeError('bootstrap: no values to resample');
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`bootstrap: confidence ${confidence}; expected a number in (0, 1), e.g. 0.95`);
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`bootstrap: resamples ${resamples}; expected a positive integer, e.g. 10000`);
  for (let i = 0; i < n; i++) if (!Number.isFinite(values[i]!)) throw new RangeError(`bootstrap: value ${i} is ${values[i]}; expected finite numbers`);
  const random = mulberry32(seed);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[Math.floor(random() * n)]!;
    means[r] = sum / n;
  }
  means.sort();
  let total = 0;
  for (let i = 0; i < n; i++) total += values[i]!;
  const tail = (1 - confidence) / 2;
  return { mean: total / n, lo: quantile(means, tail), hi: quantile(means, 1 - tail), n, resamples, confidence };
}

/** The q-quantile of ascending `sorted` (linear interpolation, Hyndman & Fan type 7). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

export type Verdict = 'better' | 'worse' | 'tie';

/**
 * Reads a difference B − A: "better" or "worse" only when the interval excludes zero (in the
 * metric's good direction), "tie" otherwise — a non-significant difference is not a win.
 */
export function verdict(diff: Pick<MeanInterval, 'lo' | 'hi'>, higherIsBetter: boolean): Verdict {
  if (diff.lo > 0) return higherIsBetter ? 'better' : 'worse';
  if (diff.hi < 0) return higherIsBetter ? 'worse' : 'better';
  return 'tie';
}
