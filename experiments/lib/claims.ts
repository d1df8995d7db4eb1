/**
 * Decides each paper claim on our measurements. A claim that compares trials (beats, ablation,
 * near the full cache, graceful degradation, memory) rests on paired per-sample differences
 * from predictions.jsonl with 95 % bootstrap intervals (contrast.ts): "confirmed" when every
 * difference it needs lies above its bar, "contradicted" when one lies below, "undecided"
 * otherwise. Decode speed and the layer trends are one aggregate per trial (no per-sample
 * value): they are read against their thresholds and say so.
 */
import { MODALITIES } from '../../src/cache/modality.js';
import type { PredictionLine } from '../../src/runner/predictions.js';
import type { ResultRow } from '../../src/runner/result-row.js';
import { bootstrapMean } from '../../src/runner/stats/bootstrap.js';
import { buildGrid, cellStats, REPORT_METRICS } from '../../src/runner/report/tables.js';
import { contrast, FULL_LABEL, readingOf, RunPredictions, type Comparison, type Side } from './contrast.js';
import type { Claim, ClaimCheck } from './manifest.js';

export type Verdict = 'confirmed' | 'contradicted' | 'undecided' | 'not testable here';

export interface ClaimResult {
  id: string;
  claim: string;
  paper: string;
  verdict: Verdict;
  /** Our numbers, as one line (means with their sample counts). */
  measured: string;
  /** The paired differences the verdict rests on ([] for aggregate checks). */
  comparisons: Comparison[];
}

/** Per-layer ρ of a flow analysis (see flow-analysis.ts); perSample [sample][layer]. */
export type FlowAnalyses = Map<string, { rho: number[]; samples: number; perSample?: number[][] }>;

/** A run's result rows and its per-sample prediction lines. */
export interface RunMeasurements {
  rows: ResultRow[];
  predictions: PredictionLine[];
}

export const fmt = (x: number, digits = 3): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

/** Mean of `metric` for `label` at `budget` (the full cache at any budget); NaN when missing. */
export function cell(rows: readonly ResultRow[], metric: string, label: string, budget: string): number {
  const def = REPORT_METRICS.find((m) => m.key === metric);
  if (!def) throw new Error(`claims: unknown metric "${metric}"`);
  return cellStats(buildGrid(rows, { ...def, scale: 1 }), label, budget)?.mean ?? Number.NaN;
}

/** Decimals a metric is printed with (KL differences live in the fourth). */
export const digits = (metric: string): number => (metric === 'kl' ? 4 : 3);
/** KL differences below this are float noise of near-identical distributions: a band around the bar. */
const TIE: Record<string, number> = { kl: 1e-4 };
/** Per-sample value of a metric, oriented so that larger is better (null: not recorded). */
const GOODNESS: Record<string, (p: PredictionLine) => number | null> = {
  accuracy: (p) => (p.correct ? 1 : 0),
  kl: (p) => (p.kl === null ? null : -p.kl),
};
/** A shift counts when the larger value exceeds the smaller by 10 % of it (and by more than float noise). */
const clearlyLarger = (a: number, b: number): boolean => a > b * 1.1 && a - b > 1e-3;

export function evaluateClaims(claims: readonly Claim[], runs: Map<string, RunMeasurements>, flows: FlowAnalyses): ClaimResult[] {
  return claims.map((c) => {
    const d = decide(c.check, runs, flows);
    return { id: c.id, claim: c.claim, paper: c.paper, comparisons: [], ...d };
  });
}

/** Confirmed when every difference supports the claim, contradicted when one opposes it. */
export function verdictOf(comparisons: readonly Comparison[]): Verdict {
  if (comparisons.length === 0) return 'not testable here';
  if (comparisons.some((c) => c.reading === 'against')) return 'contradicted';
  return comparisons.every((c) => c.reading === 'for') ? 'confirmed' : 'undecided';
}

type Decision = { verdict: Verdict; measured: string; comparisons?: Comparison[] };

const untestable = (measured: string): Decision => ({ verdict: 'not testable here', measured });

/** A side's raw mean (KL back to its sign) with its sample count. */
const described = (s: Side, metric: string): string => `${s.name} ${fmt(metric === 'kl' ? -s.mean : s.mean, digits(metric))} (n ${s.n})`;

function decide(check: ClaimCheck, runs: Map<string, RunMeasurements>, flows: FlowAnalyses): Decision {
  if (check.kind === 'untestable') return untestable(check.reason);
  if (check.kind === 'rho-depth') return rhoDepth(flows.get(check.analysis));
  const run = runs.get(check.run);
  if (!run || run.rows.length === 0) return untestable(`run "${check.run}" has no results`);
  if (check.kind === 'layer-shift') return layerShift(run.rows, check.modality, check.versus);
  if (check.kind === 'speedup') return speedup(run.rows, check.policy, check.budgets, check.atLeast);
  const preds = new RunPredictions(check.run, run.rows, run.predictions);
  if (check.kind === 'memory') return memory(preds, check.policy, check.budgets, check.reductionAtLeast);
  const value = GOODNESS[check.metric];
  if (!value) return untestable(`${check.metric} has no per-sample value in predictions.jsonl (claims compare accuracy or kl)`);
  const side = (label: string, budget: string): Side | string => preds.side(label, budget, value, check.metric);
  const opts = { tie: TIE[check.metric] ?? 0 };
  const diff = (v: number[]): number => v[0]! - v[1]!;
  const comparisons: Comparison[] = [];
  const parts: string[] = [];
  // Each step returns a sentence when a measurement is missing.
  const add = (what: string, sides: (Side | string)[], combine: (v: number[]) => number, bar = 0): string | null => {
    const missing = sides.find((s): s is string => typeof s === 'string');
    if (missing) return missing;
    const c = contrast(what, check.metric, sides as Side[], combine, { ...opts, bar });
    if (typeof c === 'string') return c;
    comparisons.push(c);
    return null;
  };
  let missing: string | null = null;
  switch (check.kind) {
    case 'beats':
      for (const b of check.budgets) {
        const own = side(check.policy, b);
        const others = check.over.map((o) => side(o, b));
        for (const [i, o] of check.over.entries()) missing ??= add(`${b}: ${check.policy} vs ${o}`, [own, others[i]!], diff);
        if (missing) break;
        parts.push(`${b}: ${[own, ...others].map((s) => described(s as Side, check.metric)).join(', ')}`);
      }
      break;
    case 'ablation':
      for (const b of check.budgets) {
        const full = side(check.full, b);
        const abl = side(check.ablated, b);
        missing ??= add(`${b}: ${check.full} vs ${check.ablated}`, [full, abl], diff);
        if (missing) break;
        parts.push(`${b}: ${described(full as Side, check.metric)}, ${described(abl as Side, check.metric)}`);
      }
      break;
    case 'near-full': {
      const own = side(check.policy, check.budget);
      const full = side(FULL_LABEL, check.budget);
      missing = add(`${check.budget}: ${check.policy} vs full cache (within ${check.within})`, [own, full], diff, -check.within);
      if (!missing) parts.push(`${described(full as Side, check.metric)}, ${described(own as Side, check.metric)}`);
      break;
    }
    case 'graceful': {
      const hi = side(check.policy, check.high);
      const lo = side(check.policy, check.low);
      // (other's drop) − (own drop): positive when the policy loses less.
      const lessLoss = (v: number[]): number => v[2]! - v[3]! - (v[0]! - v[1]!);
      for (const o of check.over) {
        missing ??= add(`${check.high} → ${check.low}: ${o}'s loss − ${check.policy}'s`, [hi, lo, side(o, check.high), side(o, check.low)], lessLoss);
      }
      if (!missing) parts.push(`${described(hi as Side, check.metric)} → ${described(lo as Side, check.metric)}`);
      break;
    }
  }
  if (missing) return untestable(missing);
  return { verdict: verdictOf(comparisons), measured: `${check.metric} — ${parts.join('; ')}`, comparisons };
}

/** Cache bytes per sample against the full cache's on the same sample: the reduction must exceed the bar. */
function memory(preds: RunPredictions, policy: string, budgets: readonly string[], atLeast: number): Decision {
  const bytes = (p: PredictionLine): number | null => p.total_bytes;
  const full = preds.side(FULL_LABEL, budgets[0]!, bytes, 'total_bytes');
  if (typeof full === 'string') return untestable(full);
  const comparisons: Comparison[] = [];
  const parts: string[] = [];
  for (const b of budgets) {
    const own = preds.side(policy, b, bytes, 'total_bytes');
    if (typeof own === 'string') return untestable(own);
    const c = contrast(`${b}: ${policy} bytes vs full cache (reduction ≥ ${100 * atLeast} %)`, 'total_bytes', [own, full], (v) => 1 - v[0]! / v[1]!, { bar: atLeast });
    if (typeof c === 'string') return untestable(c);
    comparisons.push(c);
    parts.push(`${b}: ${fmt(own.mean / 1024, 1)} KiB vs full ${fmt(full.mean / 1024, 1)} KiB → −${fmt(100 * c.diff.mean, 1)} % (n ${c.diff.n})`);
  }
  return { verdict: verdictOf(comparisons), measured: parts.join('; '), comparisons };
}

/** Decode ms/token is one mean per trial (no per-sample timing), so this reads the means against the bar. */
function speedup(rows: readonly ResultRow[], policy: string, budgets: readonly string[], atLeast: number): Decision {
  const full = cell(rows, 'decode_ms_per_token', FULL_LABEL, budgets[0]!);
  if (Number.isNaN(full)) return untestable('no decode_ms_per_token of the full cache');
  let all = true;
  const parts: string[] = [];
  for (const b of budgets) {
    const own = cell(rows, 'decode_ms_per_token', policy, b);
    if (Number.isNaN(own)) return untestable(`no decode_ms_per_token of ${policy} @ ${b}`);
    all &&= full / own >= atLeast;
    parts.push(`${b}: ${fmt(own, 2)} ms vs full ${fmt(full, 2)} ms → ${fmt(full / own, 2)}×`);
  }
  const n = rows.find((r) => r.label === policy)?.samples ?? 0;
  return {
    verdict: all ? 'confirmed' : 'contradicted',
    measured: `${parts.join('; ')} (mean over ${n} samples per trial, one timing per trial: no interval; claim holds if ≥ ${atLeast}× at every budget)`,
  };
}

/**
 * Upper-half layers put more of the text queries' attention on `modality` than lower-half
 * layers, and more than on `versus`. The row holds one aggregate over its prompts (no
 * per-sample value), so this reads it against 10 % margins: confirmed when both hold,
 * contradicted when either is clearly reversed, undecided in between.
 */
function layerShift(rows: readonly ResultRow[], modality: string, versus: string): Decision {
  const full = rows.find((r) => r.policy === 'full' && r.modality_mass && r.modality_mass.length > 1);
  if (!full) return untestable('no full-cache attention-mass measurement (metric "attention-mass")');
  const mass = full.modality_mass!;
  const mi = MODALITIES.indexOf(modality as (typeof MODALITIES)[number]);
  const vi = MODALITIES.indexOf(versus as (typeof MODALITIES)[number]);
  if (mi < 0 || vi < 0 || mass.every((l) => l[mi]! === 0) || mass.every((l) => l[vi]! === 0)) return untestable(`the prompts lack ${modality} or ${versus} tokens`);
  const half = Math.floor(mass.length / 2);
  const mean = (ls: number[][], i: number): number => ls.reduce((a, l) => a + l[i]!, 0) / ls.length;
  const upper = mean(mass.slice(half), mi);
  const lower = mean(mass.slice(0, half), mi);
  const upperVersus = mean(mass.slice(half), vi);
  const verdict: Verdict =
    clearlyLarger(upper, lower) && clearlyLarger(upper, upperVersus) ? 'confirmed' : clearlyLarger(lower, upper) || clearlyLarger(upperVersus, upper) ? 'contradicted' : 'undecided';
  const perLayer = mass.map((l, i) => `L${i} ${fmt(l[mi]!, 2)}/${fmt(l[vi]!, 2)}`).join(', ');
  return {
    verdict,
    measured: `share of the text queries' prefill attention on ${modality}/${versus} keys per layer (one aggregate over ${full.samples} full-cache prompts, no interval): ${perLayer}; upper-half ${modality} ${fmt(upper, 2)} vs lower-half ${fmt(lower, 2)} and ${versus} ${fmt(upperVersus, 2)} (confirmed if ≥ 10 % larger than both, contradicted if ≥ 10 % smaller than either)`,
  };
}

/** ρ grows with depth: per prompt, the deeper half of the layers' mean ρ minus the shallower half's, bootstrapped over prompts. */
function rhoDepth(a: { rho: number[]; samples: number; perSample?: number[][] } | undefined): Decision {
  if (!a || a.rho.length < 2 || !a.perSample || a.perSample.length === 0) return untestable('the flow analysis did not run');
  if (a.rho.every((r) => r === 0)) return untestable(`ρ is 0 in every layer: the ${a.samples} prompts hold no media tokens`);
  const half = Math.floor(a.rho.length / 2);
  const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
  const diff = bootstrapMean(a.perSample.map((r) => mean(r.slice(half)) - mean(r.slice(0, half))));
  const c: Comparison = { what: 'ρ: deeper half − shallower half of the layers', metric: 'rho', diff, bar: 0, reading: readingOf(diff, 0), unpaired: 0 };
  return {
    verdict: verdictOf([c]),
    measured: `ρ per layer (${a.samples} full-cache prefills): ${a.rho.map((r, i) => `L${i} ${fmt(r, 3)}`).join(', ')}; deeper half ${fmt(mean(a.rho.slice(half)))} vs shallower half ${fmt(mean(a.rho.slice(0, half)))}`,
    comparisons: [c],
  };
}
