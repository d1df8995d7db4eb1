/**
 * Paired per-sample contrasts for the claim checks. A claim names trials of one run by
 * label@budget; each trial's predictions.jsonl lines are joined on sample id (and on protocol
 * and seed when a side ran several trials), a per-sample value is computed from the joined
 * lines, and its mean gets a percentile-bootstrap interval (src/runner/stats/bootstrap.ts).
 * Values are oriented so that larger supports the claim; a claim needs the mean above a bar
 * (0 for "A beats B"), and the reading is "for" or "against" only when the whole interval
 * lies on one side of the bar.
 */
import type { PredictionLine } from '../../src/runner/predictions.js';
import type { ResultRow } from '../../src/runner/result-row.js';
import { bootstrapMean, type MeanInterval } from '../../src/runner/stats/bootstrap.js';

export const FULL_LABEL = 'full cache';

export type Reading = 'for' | 'against' | 'undecided';

/** One paired difference a verdict rests on. */
export interface Comparison {
  /** What is compared, e.g. "20%: acckv − h2o". */
  what: string;
  metric: string;
  /** Mean and 95 % interval of the per-sample value (larger supports the claim); `n` paired samples. */
  diff: MeanInterval;
  /** The claim needs the mean above this (0 for "beats"; −within for "near the full cache"). */
  bar: number;
  reading: Reading;
  /** Samples of the first side with no partner in another side (left out of n). */
  unpaired: number;
}

/** One side of a contrast: a label@budget's per-sample values. */
export interface Side {
  name: string;
  /** protocol / seed / sample id → value. */
  byKey: Map<string, number>;
  /** sample id → value, when the side is a single trial (it then pairs with every trial of the other sides). */
  byId: Map<string, number> | null;
  /** Mean of the raw metric over the side's samples, and how many. */
  mean: number;
  n: number;
}

/** A run's rows and its prediction lines grouped by trial. */
export class RunPredictions {
  private readonly byTrial = new Map<string, PredictionLine[]>();

  constructor(
    readonly run: string,
    private readonly rows: readonly ResultRow[],
    predictions: readonly PredictionLine[],
  ) {
    for (const p of predictions) (this.byTrial.get(p.trial_id) ?? this.byTrial.set(p.trial_id, []).get(p.trial_id)!).push(p);
  }

  /**
   * The per-sample `value` of `label` at `budget` (the full cache at any budget), or a sentence
   * saying what is missing.
   */
  side(label: string, budget: string, value: (p: PredictionLine) => number | null, metric: string): Side | string {
    const name = label === FULL_LABEL ? FULL_LABEL : `${label} @ ${budget}`;
    const trials = this.rows.filter((r) => r.label === label && (r.policy === 'full' || r.budget === budget));
    if (trials.length === 0) return `no trial ${name} in run "${this.run}"`;
    const byKey = new Map<string, number>();
    const byId = new Map<string, number>();
    for (const t of trials) {
      const lines = this.byTrial.get(t.trial_id) ?? [];
      if (lines.length === 0) return `no per-sample predictions of ${name} in run "${this.run}" (predictions.jsonl; rerun the reproduction with this version)`;
      for (const p of lines) {
        const v = value(p);
        if (v === null || !Number.isFinite(v)) return `no per-sample ${metric} of ${name} in run "${this.run}" (sample ${p.sample_id})`;
        byKey.set(`${t.protocol ?? 'query-aware'}\u0000${t.seed}\u0000${p.sample_id}`, v);
        byId.set(p.sample_id, v);
      }
    }
    const values = [...byKey.values()];
    return { name, byKey, byId: trials.length === 1 ? byId : null, mean: values.reduce((a, b) => a + b, 0) / values.length, n: values.length };
  }
}

/**
 * Joins the sides sample by sample and bootstraps the mean of `combine(values of the sides)`.
 * `tie` widens the bar into a band of float noise (KL differences of 1e-6 are no win).
 */
export function contrast(
  what: string,
  metric: string,
  sides: readonly Side[],
  combine: (values: number[]) => number,
  opts: { bar?: number; tie?: number } = {},
): Comparison | string {
  const { bar = 0, tie = 0 } = opts;
  const driver = sides.find((s) => s.byId === null) ?? sides[0]!;
  const values: number[] = [];
  let unpaired = 0;
  for (const key of driver.byKey.keys()) {
    const id = key.slice(key.lastIndexOf('\u0000') + 1);
    const joined = sides.map((s) => s.byKey.get(key) ?? s.byId?.get(id));
    if (joined.some((v) => v === undefined)) unpaired++;
    else values.push(combine(joined as number[]));
  }
  if (values.length === 0) return `${what}: the trials share no sample id`;
  const diff = bootstrapMean(values);
  return { what, metric, diff, bar, reading: readingOf(diff, bar, tie), unpaired };
}

/** "for" when the interval lies above bar + tie, "against" when below bar − tie, else "undecided". */
export function readingOf(diff: Pick<MeanInterval, 'lo' | 'hi'>, bar: number, tie = 0): Reading {
  if (diff.lo > bar + tie) return 'for';
  if (diff.hi < bar - tie) return 'against';
  return 'undecided';
}
