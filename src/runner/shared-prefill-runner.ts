/**
 * Sample-major execution with shared prefill. Trials that see the same samples under the same
 * protocol and cache settings run together: for each sample, one policy-free prefill gathers
 * the statistics every forking trial needs, and each trial forks it, ends the fork's prefill
 * under its own policy and budget, and answers from there (src/cache/cache-session.ts fork).
 * Trials whose policy must watch its own prefill (a retention store that cannot observe), or
 * whose statistics window differs from the others', get their own prefill or a prefill of
 * their window's group. Under multi-turn the unit is a clip: its context is prefilled once and
 * each trial's fork asks the clip's questions in turn. Rows stay per trial: each trial's row is handed to `onRow` once all
 * of its group's samples are done, so a killed run resumes trial by trial as before.
 */
import { mergeNeeds, type StatNeeds } from '../attention/stats.js';
import type { QASample } from '../model/prompt.js';
import { FULL_CACHE } from './config-schema.js';
import type { SampleOutcome, SharedPrefill } from './executor.js';
import type { ReferenceAnswer } from './reference-store.js';
import type { ResultRow } from './result-row.js';
import { stableHash } from './stable-hash.js';
import type { Trial } from './sweep.js';
import { sampleUnits } from './turns.js';
import { finishTrial, checkOutcome, fullCacheTrial, referenceKey, toReference, type TrialContext } from './trial-runner.js';

export interface SampleMajorHooks {
  /** A group of trials sharing prefills starts (progress display). */
  onGroup?(trials: Trial[]): void;
  onRow(trial: Trial, row: ResultRow): void;
  /** A trial threw; it runs no further samples and gets no row. */
  onError(trial: Trial, error: unknown): void;
}

/** Trials that can share prefills: same samples, protocol and cache settings. */
export function prefillGroupKey(t: Trial, sampleSeed: number | null): string {
  return stableHash({ model: t.model, dataset: t.dataset, samples: t.samples, sampleSeed, backend: t.backend, threads: t.threads, cache: t.cache, protocol: t.protocol, mass: t.metrics.includes('attention-mass') });
}

/** Groups in order of each group's first trial. */
export function groupTrials(trials: Trial[], sampleSeed: (seed: number) => number | null): Trial[][] {
  const groups = new Map<string, Trial[]>();
  for (const t of trials) {
    const k = prefillGroupKey(t, sampleSeed(t.seed));
    const g = groups.get(k);
    if (g) g.push(t);
    else groups.set(k, [t]);
  }
  return [...groups.values()];
}

/** Splits forking trials into prefills: one per statistics window (trials without a window join the first). */
export function planPrefills(forking: { trial: Trial; needs: StatNeeds }[]): { gather: StatNeeds; trials: Trial[] }[] {
  const byWindow = new Map<number, { trial: Trial; needs: StatNeeds }[]>();
  const windowless: { trial: Trial; needs: StatNeeds }[] = [];
  for (const f of forking) {
    const w = f.needs.window ?? 0;
    if (w === 0) windowless.push(f);
    else byWindow.set(w, [...(byWindow.get(w) ?? []), f]);
  }
  const plans = [...byWindow.values()];
  if (plans.length === 0) plans.push([]);
  plans[0]!.push(...windowless);
  return plans.filter((p) => p.length > 0).map((p) => ({ gather: mergeNeeds(...p.map((f) => f.needs)), trials: p.map((f) => f.trial) }));
}

interface TrialState {
  trial: Trial;
  outcomes: SampleOutcome[];
  refs: (ReferenceAnswer | null)[];
  /** Own work plus its share of the prefills it forked (ms). */
  wallMs: number;
  failed: boolean;
}

export async function runSampleMajor(trials: Trial[], ctx: TrialContext, hooks: SampleMajorHooks): Promise<void> {
  for (const group of groupTrials(trials, (s) => ctx.dataset.sampleSeed(s))) {
    hooks.onGroup?.(group);
    ctx.peak.reset();
    const states = group.map((trial): TrialState => ({ trial, outcomes: [], refs: [], wallMs: 0, failed: false }));
    let units: QASample[][];
    try {
      units = sampleUnits(await ctx.dataset.samples(group[0]!.samples, group[0]!.seed), group[0]!.protocol);
    } catch (e) {
      for (const s of states) fail(s, e, hooks);
      continue;
    }
    for (const unit of units) await runOneUnit(unit, states, ctx, hooks);
    for (const s of states) if (!s.failed) hooks.onRow(s.trial, finishTrial(s.trial, ctx, units.flat(), s.outcomes, s.refs, s.wallMs));
  }
}

/**
 * One unit (a sample; under multi-turn, a clip's questions) for every live trial of a group:
 * the shared prefills of its (first) prompt, each trial's fork or own prefill, the reference.
 */
async function runOneUnit(unit: QASample[], states: TrialState[], ctx: TrialContext, hooks: SampleMajorHooks): Promise<void> {
  const live = states.filter((s) => !s.failed);
  if (live.length === 0) return;
  const ex = ctx.executor;
  const turns = live[0]!.trial.protocol === 'multi-turn';
  if (turns && !ex.runTurns) {
    for (const s of live) fail(s, new Error(`trial ${s.trial.label}: protocol multi-turn needs an executor with runTurns (this one answers single samples only)`), hooks);
    return;
  }
  const answer = (trial: Trial, shared?: SharedPrefill): Promise<SampleOutcome[]> =>
    turns ? ex.runTurns!(unit, trial, shared) : shared ? ex.runFork!(shared, unit[0]!, trial).then((o) => [o]) : ex.runSample(unit[0]!, trial).then((o) => [o]);
  const forking: { trial: Trial; needs: StatNeeds }[] = [];
  const own: TrialState[] = [];
  for (const s of live) {
    const needs = ex.prefillShared && ex.runFork && ex.forkNeeds ? ex.forkNeeds(s.trial) : null;
    if (needs) forking.push({ trial: s.trial, needs });
    else own.push(s);
  }
  const byId = new Map(live.map((s) => [s.trial.id, s]));
  const outcomes = new Map<TrialState, SampleOutcome[]>();
  let anyPrefill: SharedPrefill | undefined;
  for (const plan of planPrefills(forking)) {
    const members = plan.trials.map((t) => byId.get(t.id)!);
    let shared: SharedPrefill;
    try {
      shared = await ex.prefillShared!(unit[0]!, plan.trials[0]!, plan.gather);
    } catch (e) {
      for (const m of members) fail(m, e, hooks);
      continue;
    }
    anyPrefill ??= shared;
    // Each member is charged its share of the prefill and of the media encoding before it.
    const shareMs = (shared.prefillMs + (shared.encodeMs ?? 0)) / members.length;
    for (const m of members) await timed(m, shareMs, hooks, async () => outcomes.set(m, checked(await answer(m.trial, shared), unit, m.trial)));
  }
  for (const m of own) await timed(m, 0, hooks, async () => outcomes.set(m, checked(await answer(m.trial), unit, m.trial)));

  const answered = live.filter((s) => outcomes.has(s));
  if (answered.length === 0) return;
  const needRef = answered.some((s) => s.trial.policy === FULL_CACHE || s.trial.metrics.includes('fidelity'));
  const keys = unit.map((sample) => referenceKey(answered[0]!.trial, sample, ctx));
  let refs: (ReferenceAnswer | null)[] = keys.map((k) => (needRef ? (ctx.references.get(k) ?? null) : null));
  if (needRef && refs.some((r) => r === null)) {
    const full = answered.find((s) => s.trial.policy === FULL_CACHE);
    try {
      refs = (full ? outcomes.get(full)! : await answer(fullCacheTrial(answered[0]!.trial), anyPrefill)).map(toReference);
    } catch (e) {
      // Without the reference no trial that reports fidelity can finish this sample.
      for (const s of answered) if (s.trial.metrics.includes('fidelity')) fail(s, e, hooks);
      refs = refs.map(() => null);
    }
    refs.forEach((r, i) => r && ctx.references.set(keys[i]!, r));
  }
  for (const s of answered) {
    if (s.failed) continue;
    const o = outcomes.get(s);
    if (!o) continue;
    for (const [i, outcome] of o.entries()) {
      s.outcomes.push(outcome);
      s.refs.push(s.trial.metrics.includes('fidelity') ? refs[i]! : null);
      await ctx.onSample?.();
    }
  }
}

function checked(o: SampleOutcome[], unit: QASample[], trial: Trial): SampleOutcome[] {
  if (o.length !== unit.length) throw new Error(`trial ${trial.label}: the executor answered ${o.length} of ${unit.length} questions`);
  o.forEach((x, i) => checkOutcome(x, unit[i]!, trial));
  return o;
}

/** Runs one trial's work on one sample, charging its time (plus `extraMs`) to the trial. */
async function timed(s: TrialState, extraMs: number, hooks: SampleMajorHooks, work: () => Promise<unknown>): Promise<void> {
  const t0 = performance.now();
  try {
    await work();
    s.wallMs += performance.now() - t0 + extraMs;
  } catch (e) {
    fail(s, e, hooks);
  }
}

function fail(s: TrialState, e: unknown, hooks: SampleMajorHooks): void {
  s.failed = true;
  hooks.onError(s.trial, e);
}
