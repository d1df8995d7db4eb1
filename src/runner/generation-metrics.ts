/**
 * Per-trial metrics of generation samples: the text metrics against the samples' reference
 * answers (src/runner/text-metrics) and fidelity against the full cache's own greedy
 * generation (token agreement, identical text).
 */
import { isGenerationSample, type QASample } from '../model/prompt.js';
import type { SampleOutcome } from './executor.js';
import { tokenAgreement } from './generation-executor.js';
import type { ReferenceAnswer } from './reference-store.js';
import { exactMatch, generationScores, type GenerationScores } from './text-metrics/index.js';

export interface GenerationTrialMetrics extends GenerationScores {
  /** Mean token agreement with the full cache's generation; null when fidelity is off. */
  tokenAgreement: number | null;
  /** Fraction of samples whose generated text equals the full cache's; null when fidelity is off. */
  textIdentical: number | null;
}

/** The generated text of a generation sample's outcome (an error names the sample if it is missing). */
export function generatedOf(o: SampleOutcome, s: QASample): NonNullable<SampleOutcome['generated']> {
  if (!o.generated) throw new Error(`sample ${s.id}: a generation sample's outcome carries no generated text`);
  return o.generated;
}

/** Whether the outcome answers the sample right: the chosen choice, or (generation) an exact match. */
export function isCorrect(o: SampleOutcome, s: QASample): boolean {
  return isGenerationSample(s) ? exactMatch(generatedOf(o, s).text, s.reference) === 1 : o.predicted === s.answer;
}

/** Metrics over the trial's generation samples (aligned arrays; refs[i] null: no fidelity); null when it has none. */
export function generationTrialMetrics(samples: readonly QASample[], outcomes: readonly SampleOutcome[], refs: readonly (ReferenceAnswer | null)[]): GenerationTrialMetrics | null {
  const idx = samples.flatMap((s, i) => (isGenerationSample(s) ? [i] : []));
  if (idx.length === 0) return null;
  const texts = idx.map((i) => generatedOf(outcomes[i]!, samples[i]!));
  const scores = generationScores(texts.map((g) => g.text), idx.map((i) => samples[i]!.reference!));
  const paired = idx.flatMap((i, k) => {
    const r = refs[i]?.generated;
    return r ? [{ mine: texts[k]!, full: r }] : [];
  });
  const mean = (xs: number[]): number | null => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  return {
    ...scores,
    tokenAgreement: mean(paired.map((p) => tokenAgreement(p.mine.tokens, p.full.tokens))),
    textIdentical: mean(paired.map((p) => (p.mine.text === p.full.text ? 1 : 0))),
  };
}
