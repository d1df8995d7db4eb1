/**
 * A multimodal prompt is an ordered list of segments: text (tokenized by the model's
 * tokenizer), raw token ids, or modality spans of ready embeddings (`[n][hidden]`) or of
 * encoder features (`[n][featureDim]`) that the model's projector for that modality maps into
 * the embedding space (the AV organism has such projectors). Every token of a span carries
 * modality, time and grid position, which become the cache's slot metadata.
 *
 * Any segment may carry explicit RoPE `positions` for layouts the built-in rule does not cover
 * (src/model/families computes the exact Qwen2-VL / 2.5-VL / Omni ids and passes them here).
 */
import type { Modality } from '../cache/modality.js';
import type { MediaRequest } from './families/encode-media.js';

/**
 * Explicit RoPE position ids of a segment's n tokens: [n] (every axis gets the same id) or,
 * under mrope, [3][n] axis-major (temporal row, then height, then width); whole numbers ≥ 0.
 * The segment after it continues from 1 + its largest id, as transformers' get_rope_index does.
 */
export interface Positioned {
  positions?: Int32Array;
}

export interface TextSegment extends Positioned {
  kind: 'text';
  text: string;
}

export interface TokenSegment extends Positioned {
  kind: 'tokens';
  ids: readonly number[];
}

interface SpanCommon extends Positioned {
  modality: Exclude<Modality, 'text'>;
  /** Number of tokens in the span. */
  n: number;
  /** Which image / clip / utterance (cache metadata `segment`). */
  segment?: number;
  /** [n] seconds per token. */
  time?: Float32Array;
  /** [n] grid row / col of visual patches. */
  row?: Int16Array;
  col?: Int16Array;
}

/** Embeddings already in the model's hidden space: data [n][hidden] f32. */
export interface EmbeddingSegment extends SpanCommon {
  kind: 'embeddings';
  data: Float32Array;
}

/** Encoder features the model projects itself: data [n][featureDim] f32. */
export interface FeatureSegment extends SpanCommon {
  kind: 'features';
  featureDim: number;
  data: Float32Array;
}

/**
 * A media file not read yet (a JSONL `{"video": …}` / `{"audio": …}` / `{"image": …}` piece).
 * It has no tokens until the model's towers encode it and the chat template frames it
 * (encodeMedia + buildChatPrompt; the runner does both, src/runner/media-prompt.ts), so
 * embedPrompt refuses it. Its tokens are placed by the family's rules, so `positions` (present
 * on every segment type) is never set for it.
 */
export interface MediaSegment extends Positioned {
  kind: 'media';
  request: MediaRequest;
  /** Seconds of the file the sample is (a video's clip); the runner refuses them today. */
  start?: number;
  end?: number;
}

export type PromptSegment = TextSegment | TokenSegment | EmbeddingSegment | FeatureSegment | MediaSegment;

export interface Prompt {
  segments: PromptSegment[];
  /**
   * Prepend the tokenizer's BOS token. Default: the tokenizer's own convention (true for Llama
   * and llama2.c tokenizers, false for Qwen, whose BOS id is never prepended); `true` forces it.
   */
  addBos?: boolean;
}

/**
 * A question-answer sample of a closed-vocabulary task: the model's answer is the choice
 * whose token sequence it scores highest after the prompt.
 */
export interface QASample {
  id: string;
  /** Question family (reported separately), e.g. "sound-first". */
  family: string;
  prompt: Prompt;
  /** Candidate answers as text (each tokenizes to the tokens scored). */
  choices: string[];
  /** Index into choices. */
  answer: number;
  /**
   * Optional: prompt positions (token index, `<s>` = 0) of the tokens that hold the answer, when
   * the dataset knows them (the AV world does, by construction); runs report how many of them
   * a policy kept (`evidence_kept`).
   */
  evidence?: number[];
  /**
   * Optional: media time spans [t0, t1] (seconds, closed) that hold the answer; the evidence is
   * every media token whose `time` falls inside one (counted against the cache's slot times).
   */
  evidenceSeconds?: [number, number][];
  /**
   * Optional, streaming protocol: the time (seconds of media) at which the question arrives.
   * The stream is cut there: media later than this never reach the cache, and the question
   * follows the last token delivered. The other protocols ask after the whole prompt.
   */
  questionAt?: number;
  /**
   * Generation samples only: the reference answer text(s). A generation sample has no closed
   * choices (`choices` is empty, `answer` is −1); the model generates greedily over the
   * compressed cache and its text is scored against these (see GenerationSample).
   */
  reference?: string[];
  /** Generation samples only: most tokens to generate (default DEFAULT_MAX_NEW_TOKENS). */
  maxNewTokens?: number;
}

/** Tokens a generation sample may generate when it names no `maxNewTokens`. */
export const DEFAULT_MAX_NEW_TOKENS = 32;

/**
 * An open-ended sample (AVSD-style): a prompt and reference answer(s), answered by greedy
 * generation up to `maxNewTokens` or an end-of-sequence token.
 */
export type GenerationSample = QASample & { reference: string[] };

export function isGenerationSample(s: QASample): s is GenerationSample {
  return s.reference !== undefined;
}
