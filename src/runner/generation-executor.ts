/**
 * The generation half of the model executor. A generation sample's prompt is split like a
 * choice sample's (src/model/held-prompt.ts: the head is prefilled and compressed, the
 * held-back text tail is decoded over the compressed cache), then the answer is generated
 * greedily over the compressed cache until an end-of-sequence token or `maxNewTokens`.
 * Greedy decoding makes the full cache's text a deterministic reference for fidelity.
 */
import type { Decoder } from '../model/decoder.js';
import { embedPrompt } from '../model/embed-prompt.js';
import { heldBackCount, splitPrompt } from '../model/held-prompt.js';
import type { Model } from '../model/model.js';
import { DEFAULT_MAX_NEW_TOKENS, isGenerationSample, type GenerationSample, type QASample } from '../model/prompt.js';
import { argmax } from '../model/sampling.js';
import { prepareSample, type PreparedSample } from '../model/score.js';
import type { Sequence } from '../model/sequence.js';

/** What a trial generated for one sample. */
export interface GeneratedText {
  /** Generated token ids (the stop token excluded). */
  tokens: number[];
  /** Their text. */
  text: string;
  /** "stop": an end-of-sequence token ended it; "length": maxNewTokens did. */
  stopReason: 'stop' | 'length';
}

/** A generation sample made ready to prefill (no choices to tokenize). */
export function prepareGeneration(model: Model, sample: GenerationSample, queryAware: boolean): PreparedSample {
  const embedded = embedPrompt(model, sample.prompt);
  const { head, tail } = splitPrompt(embedded, heldBackCount(embedded, queryAware));
  return { sample, head, tail, choiceIds: [] };
}

/** prepareSample for choice samples, prepareGeneration for generation samples. */
export function prepareAny(model: Model, sample: QASample, queryAware: boolean): PreparedSample {
  return isGenerationSample(sample) ? prepareGeneration(model, sample, queryAware) : prepareSample(model, sample, queryAware);
}

/** Decodes the held-back tail over the (compressed) sequence; returns the logits [vocab] the answer starts from. */
export function feedTail(decoder: Decoder, prepared: PreparedSample, seq: Sequence, prefillLogits: Float32Array): Float32Array {
  let logits = prefillLogits;
  for (const id of prepared.tail) logits = decoder.decodeOne(seq, id);
  return logits;
}

/**
 * Greedy generation from `logits` [vocab] (the prompt's last): argmax each step, stop at one of
 * the model's EOS ids or after `maxNewTokens` tokens. Decodes one forward per generated token
 * except the last (its logits would never be read).
 */
export function greedyDecode(model: Model, decoder: Decoder, seq: Sequence, logits: Float32Array, maxNewTokens: number): GeneratedText {
  const stop = new Set(model.generation.eosTokenIds);
  const tokens: number[] = [];
  let stopReason: GeneratedText['stopReason'] = 'length';
  let next = logits;
  while (tokens.length < maxNewTokens) {
    const id = argmax(next);
    if (stop.has(id)) {
      stopReason = 'stop';
      break;
    }
    tokens.push(id);
    if (tokens.length < maxNewTokens) next = decoder.decodeOne(seq, id);
  }
  return { tokens, text: model.tokenizer.decode(tokens), stopReason };
}

export function maxNewTokensOf(sample: GenerationSample): number {
  return sample.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS;
}

/**
 * Token agreement of a generation with the full cache's: the fraction of positions, over the
 * longer of the two, where both generated the same token (1 when both are empty). Once the two
 * diverge they rarely realign, so this is close to the length of the common prefix.
 */
export function tokenAgreement(tokens: readonly number[], reference: readonly number[]): number {
  const n = Math.max(tokens.length, reference.length);
  if (n === 0) return 1;
  let same = 0;
  for (let i = 0; i < Math.min(tokens.length, reference.length); i++) if (tokens[i] === reference[i]) same++;
  return same / n;
}
