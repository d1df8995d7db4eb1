/**
 * Per-sample predictions: one line per (trial, sample) in DIR/predictions.jsonl, so a run can
 * be joined, filtered and re-scored without running it again (kvpress's predictions.csv,
 * lmms-eval's --log_samples). `kvprism compare` pairs two trials on these lines.
 */
import { isGenerationSample, type GenerationSample, type QASample } from '../model/prompt.js';
import { generatedOf, isCorrect } from './generation-metrics.js';
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
  /** Index of the chosen answer, and its text (generation samples: −1 and the generated text). */
  choice: number;
  choice_text: string;
  /** Index of the right answer (generation samples: −1). */
  answer: number;
  /** The chosen choice is the right one; generation: the normalised text equals a reference. */
  correct: boolean;
  /** ln p(right answer), p the answer distribution over the choices (softmax of their sequence log-probs); null for generation. */
  answer_logprob: number | null;
  /** Generation samples only: the greedy text over the compressed cache, its token count, the references, and whether the text equals the full cache's (null when fidelity is off). */
  generated_text?: string;
  generated_tokens?: number;
  reference?: string[];
  same_text_as_full?: boolean | null;
  /** KL(full ‖ this) of the answer distribution, nats; null when fidelity is off. */
  kl: number | null;
  /** Fraction of the sample's evidence tokens the compressed cache kept; null when it names no evidence. */
  evidence_kept: number | null;
  /** K/V bytes and everything the cache holds (K/V + metadata + retention) after the prompt was compressed; null when memory is off. */
  kv_bytes: number | null;
  total_bytes: number | null;
  /** The most K/V bytes the cache held during the prefill (streaming: budget + one chunk); null when memory is off. */
  kv_peak_bytes?: number | null;
}

/**
 * The prediction lines of one trial. `samples`, `outcomes` and `references` are aligned
 * (`references[i]` null when fidelity is off).
 */
export function predictionLines(trial: Trial, samples: readonly QASample[], outcomes: readonly SampleOutcome[], references: readonly (ReferenceAnswer | null)[]): PredictionLine[] {
  const memory = trial.metrics.includes('memory');
  return outcomes.map((o, i): PredictionLine => {
    const s = samples[i]!;
    const ref = references[i] ?? null;
    if (isGenerationSample(s)) return generationLine(trial, s, o, ref, memory);
    return {
      ...lineIdentity(trial, s),
      choice: o.predicted,
      choice_text: s.choices[o.predicted]!,
      answer: s.answer,
      correct: o.predicted === s.answer,
      answer_logprob: Math.log(Math.max(o.answerDistribution[s.answer]!, Number.MIN_VALUE)),
      kl: ref ? klDivergence(ref.answerDistribution, o.answerDistribution) : null,
      ...lineMeasures(o, memory),
    };
  });
}

/** A generation sample's line: the generated text where a choice line has the chosen choice. */
function generationLine(trial: Trial, s: GenerationSample, o: SampleOutcome, ref: ReferenceAnswer | null, memory: boolean): PredictionLine {
  const g = generatedOf(o, s);
  return {
    ...lineIdentity(trial, s),
    choice: -1,
    choice_text: g.text,
    answer: -1,
    correct: isCorrect(o, s),
    answer_logprob: null,
    kl: null,
    ...lineMeasures(o, memory),
    generated_text: g.text,
    generated_tokens: g.tokens.length,
    reference: s.reference,
    same_text_as_full: ref?.generated ? ref.generated.text === g.text : null,
  };
}

/** The fields that name a line's trial and sample (every line has them). */
function lineIdentity(trial: Trial, s: QASample): Pick<PredictionLine, 'trial_id' | 'sample_id' | 'family' | 'label' | 'budget' | 'seed'> {
  return { trial_id: trial.id, sample_id: s.id, family: s.family, label: trial.label, budget: trial.budgetLabel, seed: trial.seed };
}

/** Evidence kept and cache bytes of one outcome (bytes only when the trial measures memory). */
function lineMeasures(o: SampleOutcome, memory: boolean): Pick<PredictionLine, 'evidence_kept' | 'kv_bytes' | 'total_bytes' | 'kv_peak_bytes'> {
  return {
    evidence_kept: o.evidenceKept ?? null,
    kv_bytes: memory && o.bytes ? o.bytes.kvBytes : null,
    total_bytes: memory && o.bytes ? o.bytes.totalBytes : null,
    kv_peak_bytes: memory ? (o.peakKvBytes ?? null) : null,
  };
}
