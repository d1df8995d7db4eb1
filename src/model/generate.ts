/**
 * Text generation: prefill the prompt once (the session compresses at its end), then decode
 * one token at a time over the compressed cache until a stop token or the token limit.
 */
import type { CacheBytes } from '../cache/session-types.js';
import type { AttentionBackendStats } from '../cache/session-stats.js';
import { Decoder } from './decoder.js';
import { embedPrompt } from './embed-prompt.js';
import type { Model } from './model.js';
import type { Prompt } from './prompt.js';
import { kvBytesByModality, type ModalityBytes } from '../cache/modality-bytes.js';
import { Sampler, type SamplingOptions } from './sampling.js';
import type { RuntimeSessionOptions } from './sequence.js';

export interface GenerateOptions extends SamplingOptions {
  /** Most tokens to generate (default: generation_config max_new_tokens, else 128). */
  maxNewTokens?: number;
  /** Token ids that end generation (default: the model's EOS ids). Not included in the output. */
  stop?: number[];
  session?: RuntimeSessionOptions;
  /** Called after each generated token with its id. */
  onToken?: (id: number) => void;
  /** Reuse a decoder (its workspaces) across calls. */
  decoder?: Decoder;
}

export interface GenerateResult {
  /** Generated token ids (stop token excluded). */
  tokens: number[];
  /** Text of the generated tokens. */
  text: string;
  stopReason: 'stop' | 'length';
  promptTokens: number;
  prefillMs: number;
  decodeMs: number;
  /** Decode forwards run (one per generated token except the last). */
  decodeSteps: number;
  /** Cache bytes right after prefill (compressed) and at the end. */
  bytesAfterPrefill: CacheBytes;
  /** Slots and K/V bytes per modality right after prefill (they sum to bytesAfterPrefill.kvBytes). */
  kvByModalityAfterPrefill: ModalityBytes;
  bytesAtEnd: CacheBytes;
  timings: AttentionBackendStats;
}

export function generate(model: Model, prompt: Prompt, opts: GenerateOptions = {}): GenerateResult {
  const max = opts.maxNewTokens ?? model.generation.maxNewTokens ?? 128;
  if (!Number.isInteger(max) || max < 0) throw new RangeError(`maxNewTokens must be a whole number ≥ 0; got ${max}`);
  const stop = new Set(opts.stop ?? model.generation.eosTokenIds);
  const sampler = new Sampler({
    temperature: opts.temperature ?? (model.generation.doSample ? model.generation.temperature : 0),
    topP: opts.topP ?? (model.generation.doSample ? model.generation.topP : 1),
    seed: opts.seed,
  });
  const decoder = opts.decoder ?? new Decoder(model);
  const embedded = embedPrompt(model, prompt);
  const seq = decoder.open(opts.session);
  const t0 = performance.now();
  let logits = decoder.prefill(seq, embedded);
  const prefillMs = performance.now() - t0;
  const bytesAfterPrefill = seq.session.bytes();
  const kvByModalityAfterPrefill = kvBytesByModality(seq.session);
  const tokens: number[] = [];
  let stopReason: GenerateResult['stopReason'] = 'length';
  let decodeSteps = 0;
  const t1 = performance.now();
  while (tokens.length < max) {
    const id = sampler.next(logits);
    if (stop.has(id)) {
      stopReason = 'stop';
      break;
    }
    tokens.push(id);
    opts.onToken?.(id);
    if (tokens.length < max) {
      logits = decoder.decodeOne(seq, id);
      decodeSteps++;
    }
  }
  const decodeMs = performance.now() - t1;
  return {
    tokens,
    text: model.tokenizer.decode(tokens),
    stopReason,
    promptTokens: embedded.n,
    prefillMs,
    decodeMs,
    decodeSteps,
    bytesAfterPrefill,
    kvByModalityAfterPrefill,
    bytesAtEnd: seq.session.bytes(),
    timings: seq.session.timings(),
  };
}
