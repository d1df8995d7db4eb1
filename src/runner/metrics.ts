/**
 * Per-trial metrics from per-sample outcomes: accuracy, fidelity against the full cache
 * (KL of the answer distribution, top-1 agreement), cache size, latency, peak memory.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { QASample } from '../model/prompt.js';
import type { SampleOutcome } from './executor.js';
import { generationTrialMetrics, isCorrect, type GenerationTrialMetrics } from './generation-metrics.js';
import type { ReferenceAnswer } from './reference-store.js';

/** KL(p ‖ q) in nats over a finite distribution; q is floored at 1e-12 so KL stays finite. */
export function klDivergence(p: ArrayLike<number>, q: ArrayLike<number>): number {
  if (p.length !== q.length) throw new RangeError(`KL: distributions have ${p.length} and ${q.length} entries`);
  let kl = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]!;
    if (pi > 0) kl += pi * Math.log(pi / Math.max(q[i]!, 1e-12));
  }
  return Math.max(0, kl);
}

export interface TrialMetrics {
  accuracy: number;
  kl: number | null;
  top1Agreement: number | null;
  families: Record<string, { n: number; accuracy: number }>;
  promptTokens: number;
  bytes: { logicalTokens: number; slots: number; kvBytes: number; kvDramBytes: number; kvFileBytes: number; metaBytes: number; retentionBytes: number; totalBytes: number } | null;
  /** Mean over samples of the most KV bytes the cache held during the prefill; null when an outcome does not say. */
  peakKvBytes: number | null;
  prefillMs: number;
  compressionMs: number;
  decodeMsPerToken: number | null;
  /** Median over every decode step of the trial (robust to the slow steps of a shared machine); null when no outcome timed its steps. */
  decodeMsMedian: number | null;
  modalityMass?: number[][];
  /** Mean fraction of evidence tokens kept, over samples that name evidence; null if none do. */
  evidenceKept: number | null;
  /** Text and fidelity metrics of generation samples; null when the trial has none. */
  generation: GenerationTrialMetrics | null;
}

const mean = (xs: number[]): number => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);

/** Median (mean of the middle two for an even count); null for no values. */
export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Aggregates samples (aligned with `outcomes`; `references[i]` null when fidelity is off).
 * A generation sample is correct when its text matches a reference exactly (normalised), and
 * has no answer distribution: KL and top-1 agreement cover choice samples only.
 */
export function aggregate(samples: QASample[], outcomes: SampleOutcome[], references: (ReferenceAnswer | null)[]): TrialMetrics {
  const families: Record<string, { n: number; correct: number }> = {};
  let correct = 0;
  outcomes.forEach((o, i) => {
    const s = samples[i]!;
    const ok = isCorrect(o, s);
    correct += ok ? 1 : 0;
    const f = (families[s.family] ??= { n: 0, correct: 0 });
    f.n++;
    f.correct += ok ? 1 : 0;
  });
  const withRef = outcomes
    .map((o, i) => [o, references[i]] as const)
    .filter((x): x is readonly [SampleOutcome, ReferenceAnswer] => x[1] !== null && !x[0].generated);
  const haveBytes = outcomes.every((o) => o.bytes !== null);
  const meanOf = (k: 'logicalTokens' | 'slots' | 'kvBytes' | 'kvDramBytes' | 'kvFileBytes' | 'metaBytes' | 'retentionBytes' | 'totalBytes'): number =>
    mean(outcomes.map((o) => o.bytes![k]));
  const decodeTokens = outcomes.reduce((a, o) => a + o.decodeTokens, 0);
  return {
    accuracy: correct / outcomes.length,
    kl: withRef.length ? mean(withRef.map(([o, r]) => klDivergence(r.answerDistribution, o.answerDistribution))) : null,
    top1Agreement: withRef.length ? mean(withRef.map(([o, r]) => (o.predicted === r.predicted ? 1 : 0))) : null,
    families: Object.fromEntries(Object.entries(families).map(([k, f]) => [k, { n: f.n, accuracy: f.correct / f.n }])),
    promptTokens: mean(outcomes.map((o) => o.promptTokens)),
    bytes: haveBytes
      ? {
          logicalTokens: meanOf('logicalTokens'),
          slots: meanOf('slots'),
          kvBytes: meanOf('kvBytes'),
          kvDramBytes: meanOf('kvDramBytes'),
          kvFileBytes: meanOf('kvFileBytes'),
          metaBytes: meanOf('metaBytes'),
          retentionBytes: meanOf('retentionBytes'),
          totalBytes: meanOf('totalBytes'),
        }
      : null,
    peakKvBytes: outcomes.every((o) => o.peakKvBytes !== undefined) ? mean(outcomes.map((o) => o.peakKvBytes!)) : null,
    prefillMs: mean(outcomes.map((o) => o.prefillMs)),
    compressionMs: mean(outcomes.map((o) => o.compressionMs)),
    decodeMsPerToken: decodeTokens > 0 ? outcomes.reduce((a, o) => a + o.decodeMs, 0) / decodeTokens : null,
    decodeMsMedian: median(outcomes.flatMap((o) => o.decodeStepsMs ?? [])),
    evidenceKept: ((xs) => (xs.length ? mean(xs) : null))(outcomes.flatMap((o) => (o.evidenceKept === undefined ? [] : [o.evidenceKept]))),
    generation: generationTrialMetrics(samples, outcomes, references),
    modalityMass: meanMatrix(outcomes.map((o) => o.modalityMass).filter((m): m is number[][] => m !== undefined)),
  };
}

function meanMatrix(ms: number[][][]): number[][] | undefined {
  if (ms.length === 0) return undefined;
  return ms[0]!.map((row, l) => row.map((_, m) => mean(ms.map((x) => x[l]?.[m] ?? 0))));
}

/**
 * Peak resident memory. Linux lets a process reset its high-water mark (VmHWM) by writing 5
 * to /proc/self/clear_refs, so each trial can report its own peak; elsewhere the process-wide
 * maximum (getrusage) is the honest fallback.
 */
export class PeakRss {
  private readonly resettable: boolean;

  constructor() {
    this.resettable = PeakRss.tryReset();
  }

  private static tryReset(): boolean {
    try {
      writeFileSync('/proc/self/clear_refs', '5');
      return true;
    } catch {
      return false;
    }
  }

  /** Starts a new measurement window (no-op where the OS cannot reset). */
  reset(): void {
    if (this.resettable) PeakRss.tryReset();
  }

  /** Peak bytes since the last reset (or since process start). */
  peakBytes(): number {
    if (this.resettable) {
      const m = /VmHWM:\s*(\d+)\s*kB/.exec(readFileSync('/proc/self/status', 'utf8'));
      if (m) return Number(m[1]) * 1024;
    }
    return process.resourceUsage().maxRSS * 1024;
  }
}
