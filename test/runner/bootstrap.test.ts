/** The percentile bootstrap's defining behaviour (src/runner/stats/bootstrap.ts). */
import { describe, expect, it } from 'vitest';
import { bootstrapMean, quantile, verdict } from '../../src/runner/stats/bootstrap.js';
import { mulberry32 } from '../../src/util/random.js';

/** Standard normal draws (Box–Muller) from a seeded uniform source. */
function normals(n: number, mean: number, sd: number, random: () => number): number[] {
  return Array.from({ length: n }, () => mean + sd * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()));
}

describe('percentile bootstrap of a mean', () => {
  it('covers the true mean of a known distribution about as often as it claims', () => {
    // 400 data sets of 60 draws from N(0.3, 1); the 90 % interval should hold 0.3 in ≈ 90 % of
    // them (the percentile method runs slightly narrow at small n, so the band is 84–95 %).
    const random = mulberry32(12345);
    let covered = 0;
    const sets = 400;
    for (let k = 0; k < sets; k++) {
      const ci = bootstrapMean(normals(60, 0.3, 1, random), { resamples: 1000, confidence: 0.9, seed: k });
      if (ci.lo <= 0.3 && 0.3 <= ci.hi) covered++;
    }
    expect(covered / sets).toBeGreaterThan(0.84);
    expect(covered / sets).toBeLessThan(0.95);
  });

  it('is centred on the sample mean with the width of the standard error', () => {
    const xs = normals(400, 2, 3, mulberry32(7));
    const ci = bootstrapMean(xs);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const se = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1) / xs.length);
    expect(ci.mean).toBeCloseTo(mean, 12);
    expect(ci.hi - ci.lo).toBeGreaterThan(2 * 1.96 * se * 0.9);
    expect(ci.hi - ci.lo).toBeLessThan(2 * 1.96 * se * 1.1);
    expect((ci.lo + ci.hi) / 2).toBeCloseTo(mean, 1);
  });

  it('is deterministic under a seed and changes with it', () => {
    const xs = normals(50, 0, 1, mulberry32(3));
    expect(bootstrapMean(xs, { seed: 5 })).toEqual(bootstrapMean(xs, { seed: 5 }));
    expect(bootstrapMean(xs, { seed: 5 }).lo).not.toBe(bootstrapMean(xs, { seed: 6 }).lo);
  });

  it('zero differences, or differences balanced around zero, give an interval holding 0 and a tie', () => {
    const zero = bootstrapMean(new Array(30).fill(0));
    expect([zero.lo, zero.mean, zero.hi]).toEqual([0, 0, 0]);
    expect(verdict(zero, true)).toBe('tie');
    const balanced = bootstrapMean([1, -1, 1, -1, 0, 0, 1, -1, 1, -1, 1, -1]);
    expect(balanced.lo).toBeLessThan(0);
    expect(balanced.hi).toBeGreaterThan(0);
    expect(verdict(balanced, true)).toBe('tie');
  });

  it('verdicts follow the metric direction and need the interval to exclude zero', () => {
    expect(verdict({ lo: 0.01, hi: 0.2 }, true)).toBe('better');
    expect(verdict({ lo: 0.01, hi: 0.2 }, false)).toBe('worse');
    expect(verdict({ lo: -0.2, hi: -0.01 }, false)).toBe('better');
    expect(verdict({ lo: -0.2, hi: 0 }, true)).toBe('tie');
  });

  it('quantiles interpolate; bad input is refused clearly', () => {
    expect(quantile([0, 10], 0.25)).toBe(2.5);
    expect(quantile([4], 0.9)).toBe(4);
    expect(() => bootstrapMean([])).toThrow(/no values/);
    expect(() => bootstrapMean([1], { confidence: 95 })).toThrow(/confidence 95; expected a number in \(0, 1\)/);
    expect(() => bootstrapMean([1, NaN])).toThrow(/value 1 is NaN/);
  });
});
