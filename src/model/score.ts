/**
 * Closed-vocabulary QA scoring. The prompt's head is prefilled once (the policy compresses at
 * endPrefill) and its held-back text tail is decoded over the compressed cache (see
 * held-prompt.ts: otherwise a single-token answer would come from full-cache prefill logits);
 * each choice's tokens are then scored teacher-forced from the compressed cache:
 * log p(choice) = Σ_i log p(c_i | prompt, c_<i). A single-token choice needs only the
 * prompt's next-token logits; a longer one decodes its tokens on a clone of the sequence, so
 * choices never see each other. Log-probabilities are summed, not length-normalised.
 */
import { Decoder } from './decoder.js';
import { embedPrompt, type EmbeddedPrompt } from './embed-prompt.js';
import { heldBackCount, splitPrompt } from './held-prompt.js';
import type { Model } from './model.js';
import type { QASample } from './prompt.js';
import { logSoftmax, logSumExp } from './sampling.js';
import type { RuntimeSessionOptions, Sequence } from './sequence.js';

export interface ChoiceScores {
  /** Per choice, Σ log p of its tokens (nats). */
  logProbs: number[];
  /** Index of the highest-scoring choice. */
  predicted: number;
  /** softmax(logProbs): the model's distribution over the choices. */
  answerDistribution: Float64Array;
  /** The compressed sequence the choices were scored from (prompt fed, no choice token yet). */
  sequence: Sequence;
}

/** A sample made ready to prefill: its prompt head, the held-back tail and each choice's tokens. */
export interface PreparedSample {
  sample: QASample;
  /** The prompt's first n − k tokens (what the prefill runs). */
  head: EmbeddedPrompt;
  /** The k held-back text token ids, decoded one by one over the compressed cache. */
  tail: number[];
  /** Per choice, its token ids. */
  choiceIds: number[][];
}

/** Tokenizes the choices and embeds and splits the prompt (`queryAware`: see held-prompt.ts). */
export function prepareSample(model: Model, sample: QASample, queryAware = true): PreparedSample {
  if (sample.choices.length === 0) throw new Error(`sample ${sample.id}: choices is empty`);
  const choiceIds = sample.choices.map((c, i) => {
    const ids = model.tokenizer.encode(c);
    if (ids.length === 0) throw new Error(`sample ${sample.id}: choices[${i}] ${JSON.stringify(c)} tokenizes to no tokens`);
    return ids;
  });
  const embedded = embedPrompt(model, sample.prompt);
  const { head, tail } = splitPrompt(embedded, heldBackCount(embedded, queryAware));
  return { sample, head, tail, choiceIds };
}

export function scoreChoices(model: Model, sample: QASample, sessionOptions: RuntimeSessionOptions = {}, decoder = new Decoder(model)): ChoiceScores {
  const prepared = prepareSample(model, sample, sessionOptions.queryAware ?? true);
  const seq = decoder.open(sessionOptions);
  return scorePrefilled(decoder, prepared, seq, decoder.prefill(seq, prepared.head));
}

/**
 * Scores the choices from a sequence whose prefill of `prepared.head` has ended (compressed):
 * decodes the held-back tail, then each choice. `prefillLogits` [vocab]: the prefill's last
 * logits (read only when the tail is empty).
 */
export function scorePrefilled(decoder: Decoder, prepared: PreparedSample, seq: Sequence, prefillLogits: Float32Array): ChoiceScores {
  let logits = prefillLogits;
  for (const id of prepared.tail) logits = decoder.decodeOne(seq, id);
  const first = logSoftmax(logits);
  const logProbs = prepared.choiceIds.map((ids) => {
    let lp = first[ids[0]!]!;
    if (ids.length === 1) return lp;
    const branch = seq.clone();
    for (let i = 1; i < ids.length; i++) {
      const logits = decoder.decodeOne(branch, ids[i - 1]!);
      lp += logits[ids[i]!]! - logSumExp(logits);
    }
    return lp;
  });
  let predicted = 0;
  for (let i = 1; i < logProbs.length; i++) if (logProbs[i]! > logProbs[predicted]!) predicted = i;
  const lse = logSumExp(logProbs);
  const answerDistribution = Float64Array.from(logProbs, (x) => Math.exp(x - lse));
  return { logProbs, predicted, answerDistribution, sequence: seq };
}
