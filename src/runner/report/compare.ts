/**
 * `kvprism compare A B`: paired per-sample differences B − A between trials of two run
 * directories (or two trials of one), joined on sample id from predictions.jsonl, each with a
 * percentile-bootstrap confidence interval, the sample count and a verdict that says "better"
 * or "worse" only when the interval excludes zero. Trials are paired by (label, budget, protocol,
 * storage, seed) (selectors may pick each side); paired trials must share model and dataset, and
 * the protocol unless both sides were picked.
 */
import type { PredictionLine } from '../predictions.js';
import { readPredictions } from '../predictions-store.js';
import type { ResultRow } from '../result-row.js';
import { readResults } from '../results-store.js';
import { bootstrapMean, type BootstrapOptions, type MeanInterval, type Verdict, verdict } from '../stats/bootstrap.js';
import { contextOf } from './contexts.js';

export interface CompareOptions extends BootstrapOptions {
  /** Picks A's trials: a trial id, a label, "label@budget", "label@budget@protocol" or "label@budget@protocol@storage" (default: every trial with a partner in B). */
  a?: string;
  /** Picks B's trials, as `a`. */
  b?: string;
}

/** One per-sample metric compared. */
export interface MetricComparison {
  metric: 'accuracy' | 'answer_logprob' | 'kl';
  higherIsBetter: boolean;
  meanA: number;
  meanB: number;
  /** Interval of the mean paired difference B − A. */
  diff: MeanInterval;
  verdict: Verdict;
}

export interface PairComparison {
  a: Pick<ResultRow, 'trial_id' | 'label' | 'budget' | 'seed'> & { protocol: string; storage: string };
  b: Pick<ResultRow, 'trial_id' | 'label' | 'budget' | 'seed'> & { protocol: string; storage: string };
  /** Samples in both trials (the paired n). */
  n: number;
  /** Samples only one side answered (left out of the differences). */
  onlyA: number;
  onlyB: number;
  metrics: MetricComparison[];
}

const METRICS: { metric: MetricComparison['metric']; higherIsBetter: boolean; value: (p: PredictionLine) => number | null }[] = [
  { metric: 'accuracy', higherIsBetter: true, value: (p) => (p.correct ? 1 : 0) },
  { metric: 'answer_logprob', higherIsBetter: true, value: (p) => p.answer_logprob },
  { metric: 'kl', higherIsBetter: false, value: (p) => p.kl },
];

interface Run {
  dir: string;
  rows: ResultRow[];
  predictions: Map<string, PredictionLine[]>;
}

function loadRun(dir: string): Run {
  const rows = readResults(dir);
  const predictions = new Map<string, PredictionLine[]>();
  for (const p of readPredictions(dir, new Set(rows.map((r) => r.trial_id)))) {
    (predictions.get(p.trial_id) ?? predictions.set(p.trial_id, []).get(p.trial_id)!).push(p);
  }
  return { dir, rows, predictions };
}

const protocolOf = (r: ResultRow): string => r.protocol ?? 'query-aware';
const storageOf = (r: ResultRow): string => r.storage ?? 'unrecorded';

/** The fullest selector naming a row (the storage only where the row records one). */
const selectorOf = (r: ResultRow): string => `${r.label}@${r.budget}@${protocolOf(r)}${r.storage !== undefined ? `@${r.storage}` : ''}`;

/** Whether a row matches a selector: its trial id, its label, "label@budget", "label@budget@protocol" or "label@budget@protocol@storage". */
export function matchesSelector(r: ResultRow, selector: string): boolean {
  if (r.trial_id === selector || r.label === selector) return true;
  const parts = selector.split('@');
  if (parts.length === 4) return r.label === parts[0] && r.budget === parts[1] && protocolOf(r) === parts[2] && storageOf(r) === parts[3];
  if (parts.length === 3) return r.label === parts[0] && r.budget === parts[1] && protocolOf(r) === parts[2];
  const at = selector.lastIndexOf('@');
  return at > 0 && r.label === selector.slice(0, at) && r.budget === selector.slice(at + 1);
}

function select(run: Run, selector: string | undefined, side: 'A' | 'B'): ResultRow[] {
  if (selector === undefined) return run.rows;
  const rows = run.rows.filter((r) => matchesSelector(r, selector));
  if (rows.length === 0) {
    const known = [...new Set(run.rows.map((r) => `${r.label}@${r.budget}`))].join(', ');
    throw new Error(`compare --pick-${side.toLowerCase()} "${selector}": no trial of ${run.dir} matches; expected a trial id, a label, label@budget, label@budget@protocol or label@budget@protocol@storage (here: ${known})`);
  }
  return rows;
}

/**
 * Pairs A's and B's trials on (label, budget, protocol, storage, seed). When selectors chose the
 * sides, a field that is constant on a side is left out of the key (so h2o@20% pairs with
 * snapkv@50%, snapkv@20%@query-agnostic with snapkv@20%@streaming, and an int4 trial with an f32
 * one, seed by seed); a key that names two trials of one side is ambiguous and refused.
 */
function pairTrials(a: ResultRow[], b: ResultRow[], selected: boolean): [ResultRow, ResultRow][] {
  type Field = 'label' | 'budget' | 'protocol' | 'storage';
  const value = (r: ResultRow, f: Field): string => (f === 'protocol' ? protocolOf(r) : f === 'storage' ? storageOf(r) : r[f]);
  const varies = (f: Field): boolean => !selected || (new Set(a.map((r) => value(r, f))).size > 1 && new Set(b.map((r) => value(r, f))).size > 1);
  const fields = (['label', 'budget', 'protocol', 'storage'] as const).filter(varies);
  const key = (r: ResultRow): string => [...fields.map((f) => value(r, f)), r.seed].join('\u0000');
  const index = (rows: ResultRow[], side: string): Map<string, ResultRow> => {
    const m = new Map<string, ResultRow>();
    for (const r of rows) {
      const other = m.get(key(r));
      if (other) throw new Error(`compare: side ${side} has two trials for one pairing key (${selectorOf(other)} and ${selectorOf(r)}, seed ${r.seed}); narrow it with --pick-${side.toLowerCase()} label@budget@protocol, label@budget@protocol@storage or a trial id`);
      m.set(key(r), r);
    }
    return m;
  };
  const bByKey = index(b, 'B');
  return [...index(a, 'A').entries()].flatMap(([k, r]) => (bByKey.has(k) ? [[r, bByKey.get(k)!] as [ResultRow, ResultRow]] : []));
}

export function compareRuns(dirA: string, dirB: string, opts: CompareOptions = {}): PairComparison[] {
  const runA = loadRun(dirA);
  const runB = dirB === dirA ? runA : loadRun(dirB);
  const pairs = pairTrials(select(runA, opts.a, 'A'), select(runB, opts.b, 'B'), opts.a !== undefined || opts.b !== undefined);
  if (pairs.length === 0) {
    throw new Error(`compare: no trial of ${dirA} has a partner in ${dirB} (paired by label, budget, protocol, storage and seed); pick the two sides with --pick-a and --pick-b (a trial id, a label, label@budget, label@budget@protocol or label@budget@protocol@storage)`);
  }
  // A protocol difference is a question only an explicit pick asks (same samples, the question met at another time).
  const acrossProtocols = opts.a !== undefined && opts.b !== undefined;
  return pairs.map(([ra, rb]) => comparePair(runA, ra, runB, rb, opts, acrossProtocols));
}

function comparePair(runA: Run, ra: ResultRow, runB: Run, rb: ResultRow, opts: BootstrapOptions, acrossProtocols: boolean): PairComparison {
  const ca = contextOf(ra);
  const cb = contextOf(rb);
  for (const k of acrossProtocols ? (['model', 'dataset'] as const) : (['model', 'dataset', 'protocol'] as const)) {
    if (ca[k] !== cb[k]) throw new Error(`compare: ${ra.label}@${ra.budget} in ${runA.dir} and ${rb.label}@${rb.budget} in ${runB.dir} differ in ${k} (${ca[k]} vs ${cb[k]}); paired differences need the same samples under the same ${k}`);
  }
  const pa = runA.predictions.get(ra.trial_id) ?? [];
  const pb = runB.predictions.get(rb.trial_id) ?? [];
  for (const [run, r, p] of [[runA, ra, pa], [runB, rb, pb]] as const) {
    if (p.length === 0) throw new Error(`compare: ${run.dir} has no predictions.jsonl lines for trial ${r.trial_id} (${r.label}@${r.budget}); rerun it with this version of kvprism to record per-sample predictions`);
  }
  const bById = new Map(pb.map((p) => [p.sample_id, p]));
  const joined = pa.flatMap((p) => (bById.has(p.sample_id) ? [[p, bById.get(p.sample_id)!] as const] : []));
  if (joined.length === 0) throw new Error(`compare: trials ${ra.trial_id} and ${rb.trial_id} share no sample id`);
  const metrics: MetricComparison[] = [];
  for (const m of METRICS) {
    const both = joined.map(([x, y]) => [m.value(x), m.value(y)] as const).filter((v): v is readonly [number, number] => v[0] !== null && v[1] !== null);
    if (both.length < joined.length) continue; // a metric one side did not record (e.g. fidelity off) is not compared
    const diff = bootstrapMean(both.map(([x, y]) => y - x), opts);
    const mean = (i: 0 | 1): number => both.reduce((s, v) => s + v[i], 0) / both.length;
    metrics.push({ metric: m.metric, higherIsBetter: m.higherIsBetter, meanA: mean(0), meanB: mean(1), diff, verdict: verdict(diff, m.higherIsBetter) });
  }
  const pick = (r: ResultRow) => ({ trial_id: r.trial_id, label: r.label, budget: r.budget, seed: r.seed, protocol: protocolOf(r), storage: storageOf(r) });
  return { a: pick(ra), b: pick(rb), n: joined.length, onlyA: pa.length - joined.length, onlyB: pb.length - joined.length, metrics };
}

/** The comparison as a Markdown table, one line per (pair, metric). */
export function compareTable(pairs: readonly PairComparison[]): string {
  const f = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(1) : x.toFixed(4));
  const conf = pairs[0]?.metrics[0]?.diff;
  const head = `| A | B | metric | n | A | B | B − A | ${conf ? `${Math.round(conf.confidence * 100)} % CI (${conf.resamples} resamples)` : 'CI'} | verdict |`;
  // The protocol (storage) is named when a pair crosses protocols (storages); otherwise it is the same on both sides.
  const name = (s: PairComparison['a'], p: PairComparison): string =>
    `${s.label}@${s.budget}${p.a.protocol !== p.b.protocol ? `@${s.protocol}` : ''}${p.a.storage !== p.b.storage ? `@${s.storage}` : ''} s${s.seed}`;
  const lines = pairs.flatMap((p) =>
    p.metrics.map((m) => `| ${name(p.a, p)} | ${name(p.b, p)} | ${m.metric}${m.higherIsBetter ? ' ↑' : ' ↓'} | ${p.n} | ${f(m.meanA)} | ${f(m.meanB)} | ${f(m.diff.mean)} | [${f(m.diff.lo)}, ${f(m.diff.hi)}] | ${m.verdict} |`),
  );
  const notes = pairs.filter((p) => p.onlyA + p.onlyB > 0).map((p) => `${p.a.label}@${p.a.budget} vs ${p.b.label}@${p.b.budget}: ${p.onlyA} samples only in A and ${p.onlyB} only in B were left out.`);
  return [head, '|---|---|---|---:|---:|---:|---:|---|---|', ...lines, ...(notes.length ? ['', ...notes] : [])].join('\n');
}
