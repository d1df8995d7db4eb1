/** Timing helpers for benchmarks: warm up, then the median of repeated runs (ms). */
import { performance } from 'node:perf_hooks';

/** Median wall time in ms of fn over `reps` runs after `warmup` runs, stopping early past budgetMs. */
export async function medianMs(fn: () => unknown, reps = 7, warmup = 2, budgetMs = 20_000): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  const start = performance.now();
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
    if (performance.now() - start > budgetMs && times.length >= 1) break;
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export const ratio = (a: number, b: number): number => (b > 0 ? a / b : NaN);
export const fmt = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
