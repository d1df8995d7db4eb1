/**
 * Per-sample predictions: one line per (trial, sample) in DIR/predictions.jsonl, so a run can
 * be joined, filtered and re-scored without running it again (kvpress's predictions.csv,
 * lmms-eval's --log_samples). `kvprism compare` pairs two trials on these lines.
 */
import type { QASample } from '../model/prompt.js';
import type { SampleOutcome } from './executor.js';
import { klDivergence } from './metrics.js';
import type { ReferenceAnswer } from './reference-store.js';
import type { Trial } from './sweep.js';

export const PREDICTIONS_JSONL = 'predictions.jsonl';

/** One sample's answer under one trial. */
export interface PredictionLine {
  trial_id: string;
  sample_id: string;
  /** Question family (reported separately in tables). */
  family: string;
  /** The trial's label, budget and seed, so lines can be filtered without joining results.jsonl. */
  label: string;
  budget: string;
  seed: number;
  /** Index of the chosen answer, and its text. */
  choice: number;
  choice_text: string;
  /** Index of the right answer. */
  answer: number;
  correct: boolean;
  /** ln p(right answer), p the answer distribution over the choices (softmax of their sequence log-probs). */
  answer_logprob: number;
  /** KL(full ‖ this) of the answer distribution, nats; null when fidelity is off. */
  kl: number | null;
  /** Fraction of the sample's evidence tokens the compressed cache kept; null when it names no evidence. */
  evidence_kept: number | null;
  /** K/V bytes and everything the cache holds (K/V + metadata + retention) after the prompt was compressed; null when memory is off. */
  kv_bytes: number | null;
  total_bytes: number | null;
}

/**
 * The prediction lines of one trial. `samples`, `outcomes` and `references` are aligned
 * (`references[i]` null when fidelity is off).
 */
export function predictionLines(trial: Trial, samples: readonly QASample[], outcomes: readonly SampleOutcome[], references: readonly (ReferenceAnswer | null)[]): PredictionLine[] {
  const memory = trial.metrics.includes('memory');
  return outcomes.map((o, i) => {
    const s = samples[i]!;
    const ref = references[i] ?? null;
    return {
      trial_id: trial.id,
      sample_id: s.id,
      family: s.family,
      label: trial.label,
      budget: trial.budgetLabel,
      seed: trial.seed,
      choice: o.predicted,
      choice_text: s.choices[o.predicted]!,
      answer: s.answer,
      correct: o.predicted === s.answer,
      answer_logprob: Math.log(Math.max(o.answerDistribution[s.answer]!, Number.MIN_VALUE)),
      kl: ref ? klDivergence(ref.answerDistribution, o.answerDistribution) : null,
      evidence_kept: o.evidenceKept ?? null,
      kv_bytes: memory && o.bytes ? o.bytes.kvBytes : null,
      total_bytes: memory && o.bytes ? o.bytes.totalBytes : null,
    };
  });
}
