/**
 * Decode thread selection (`threads: auto`), after MNN-AECS: decode speed is measured at each
 * candidate thread count on the first tokens of a calibration decode, and the run keeps the
 * fewest threads whose speed is within a slowdown bound (default 5 %) of the best — more
 * threads than that buy nothing and take cores from everything else (on a small model, or a
 * shared machine, they lose outright: waking a pool costs more than a small step's work).
 *
 * Ours where the idea is silent: candidates are 1, 2, 4, … up to the core count (and the count
 * itself); the candidates are measured round robin (`rounds` rounds of `tokens` steps each), so
 * a burst of load elsewhere hits all of them alike, and each count's speed is 1000 / the
 * median step ms of its steps. The calibration decode runs over a random prompt of `context`
 * tokens with the full cache (a clone of one prefill per round and count, so every
 * measurement sees the same context).
 */
import { availableParallelism } from 'node:os';
import { argmax } from './sampling.js';
import { Decoder } from './decoder.js';
import { embedPrompt } from './embed-prompt.js';
import type { Model } from './model.js';
import { mulberry32 } from '../util/random.js';

export const DEFAULT_THREAD_SLOWDOWN = 0.05;

/** Decode speed measured at one thread count. */
export interface ThreadSpeed {
  threads: number;
  tokPerSec: number;
}

/** What `threads: auto` chose and why (recorded in run_meta.json). */
export interface ThreadChoice {
  chosen: number;
  /** The slowdown bound: the fewest threads within (1 − slowdown) × the best speed win. */
  slowdown: number;
  /** Speed per candidate thread count, in candidate order (empty when nothing was measured). */
  speeds: ThreadSpeed[];
  /** What was measured, or why nothing was. */
  measuredOn: string;
}

/** A thread pool whose size can be set (the native backend's). */
export interface ThreadPool {
  setThreads(threads: number): void;
}

export interface SelectThreadsOptions {
  /** Slowdown bound in [0, 1) (default 0.05). */
  slowdown?: number;
  /** Round-robin rounds over the candidates (default 3). */
  rounds?: number;
}

/** 1, 2, 4, … below `maxThreads`, then `maxThreads` itself. */
export function threadCandidates(maxThreads: number): number[] {
  if (!Number.isInteger(maxThreads) || maxThreads < 1) throw new RangeError(`threadCandidates: maxThreads must be an integer ≥ 1; got ${maxThreads}`);
  const out: number[] = [];
  for (let t = 1; t < maxThreads; t *= 2) out.push(t);
  out.push(maxThreads);
  return out;
}

/** The fewest threads whose speed is at least (1 − slowdown) × the best speed. */
export function fewestThreadsWithin(speeds: readonly ThreadSpeed[], slowdown = DEFAULT_THREAD_SLOWDOWN): number {
  checkSlowdown(slowdown);
  if (speeds.length === 0) throw new RangeError('fewestThreadsWithin: no speeds were measured');
  for (const s of speeds) {
    if (!(s.tokPerSec > 0) || !Number.isFinite(s.tokPerSec)) throw new RangeError(`fewestThreadsWithin: ${s.threads} threads measured ${s.tokPerSec} tok/s; expected a finite speed > 0`);
  }
  const best = Math.max(...speeds.map((s) => s.tokPerSec));
  const within = speeds.filter((s) => s.tokPerSec >= (1 - slowdown) * best);
  return Math.min(...within.map((s) => s.threads));
}

/**
 * Measures every candidate with `measure` (tok/s at that thread count), round robin over
 * `rounds` rounds, and picks with fewestThreadsWithin over each count's median.
 */
export function selectThreads(candidates: readonly number[], measure: (threads: number) => number, opts: SelectThreadsOptions = {}): ThreadChoice {
  const slowdown = opts.slowdown ?? DEFAULT_THREAD_SLOWDOWN;
  const rounds = opts.rounds ?? 3;
  checkSlowdown(slowdown);
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`selectThreads: rounds must be an integer ≥ 1; got ${rounds}`);
  if (candidates.length === 0 || candidates.some((t) => !Number.isInteger(t) || t < 1)) {
    throw new RangeError(`selectThreads: candidates must be integers ≥ 1; got [${candidates.join(', ')}]`);
  }
  const samples = candidates.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) candidates.forEach((t, i) => samples[i]!.push(measure(t)));
  const speeds = candidates.map((threads, i) => ({ threads, tokPerSec: median(samples[i]!) }));
  return { chosen: fewestThreadsWithin(speeds, slowdown), slowdown, speeds, measuredOn: `${rounds} rounds over [${candidates.join(', ')}] threads` };
}

export interface DecodeThreadsOptions extends SelectThreadsOptions {
  /** Calibration prompt length in tokens (default 1024, at most the model's positions less the decoded tokens). */
  context?: number;
  /** Decode steps timed per round and count (default 8; one untimed warm-up step precedes them). */
  tokens?: number;
  /** Largest thread count tried (default: the cores available to this process). */
  maxThreads?: number;
}

/**
 * Chooses the decode thread count of `model` on `pool` (the native backend the model computes
 * on) and leaves the pool at the chosen count.
 */
export function chooseDecodeThreads(model: Model, pool: ThreadPool, opts: DecodeThreadsOptions = {}): ThreadChoice {
  const tokens = opts.tokens ?? 8;
  for (const [name, x] of [['context', opts.context ?? 1], ['tokens', tokens]] as const) {
    if (!Number.isInteger(x) || x < 1) throw new RangeError(`chooseDecodeThreads: ${name} must be an integer ≥ 1; got ${x}`);
  }
  // The calibration decode stays within the positions the model was trained for.
  const context = Math.max(1, Math.min(opts.context ?? 1024, model.config.maxPositions - tokens - 1));
  const candidates = threadCandidates(opts.maxThreads ?? availableParallelism());
  const measure = decodeSpeedProbe(model, pool, context, tokens);
  const choice = selectThreads(candidates, measure, opts);
  pool.setThreads(choice.chosen);
  return { ...choice, measuredOn: `decode of ${tokens} tokens after a ${context}-token prompt (full cache), ${choice.measuredOn}` };
}

/** tok/s of `tokens` greedy decode steps at a thread count, each time from the same prefill. */
function decodeSpeedProbe(model: Model, pool: ThreadPool, context: number, tokens: number): (threads: number) => number {
  const rand = mulberry32(context);
  const ids = Array.from({ length: context }, () => Math.floor(rand() * model.config.vocabSize));
  const dec = new Decoder(model);
  const prefilled = dec.open();
  const first = dec.prefill(prefilled, embedPrompt(model, { segments: [{ kind: 'tokens', ids }], addBos: false })).slice();
  return (threads) => {
    pool.setThreads(threads);
    const seq = prefilled.clone();
    let logits = dec.decodeOne(seq, argmax(first));
    const stepMs: number[] = [];
    for (let i = 0; i < tokens; i++) {
      const token = argmax(logits);
      const t0 = performance.now();
      logits = dec.decodeOne(seq, token);
      stepMs.push(performance.now() - t0);
    }
    return 1000 / median(stepMs);
  };
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function checkSlowdown(slowdown: number): void {
  if (!(slowdown >= 0 && slowdown < 1)) throw new RangeError(`thread selection: slowdown must be in [0, 1); got ${slowdown}`);
}
