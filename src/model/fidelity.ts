/**
 * Fidelity of a compressed cache to the full one: the prompt tokens[0:splitAt] is prefilled
 * (and compressed, under the policy), then the continuation tokens[splitAt:] is fed
 * teacher-forced, one decode step at a time, to a full-cache sequence and to the policy's
 * sequence side by side. At each continuation token we compare the two next-token
 * distributions: KL(full ‖ policy) in nats and whether their top-1 tokens agree.
 */
import type { CacheBytes } from '../cache/session-types.js';
import { Decoder } from './decoder.js';
import { embedPrompt } from './embed-prompt.js';
import type { Model } from './model.js';
import { argmax, logSoftmax } from './sampling.js';
import type { RuntimeSessionOptions } from './sequence.js';

export interface FidelityResult {
  /** [positions] KL(full ‖ policy) per continuation token, nats. */
  kl: Float64Array;
  /** [positions] 1 where the top-1 tokens agree. */
  top1: Uint8Array;
  meanKL: number;
  /** Fraction of positions whose top-1 tokens agree. */
  top1Agreement: number;
  /** Cache bytes of the policy's and the full sequence after the prompt. */
  policyBytes: CacheBytes;
  fullBytes: CacheBytes;
}

export function fidelity(model: Model, tokens: readonly number[], splitAt: number, sessionOptions: RuntimeSessionOptions = {}, decoder = new Decoder(model)): FidelityResult {
  if (!Number.isInteger(splitAt) || splitAt < 1 || splitAt >= tokens.length) {
    throw new RangeError(`fidelity: splitAt must be a whole number in [1, ${tokens.length - 1}] (tokens has ${tokens.length}); got ${splitAt}`);
  }
  const prompt = embedPrompt(model, { segments: [{ kind: 'tokens', ids: tokens.slice(0, splitAt) }], addBos: false });
  const full = decoder.open({ ...sessionOptions, policy: null });
  const comp = decoder.open(sessionOptions);
  decoder.prefill(full, prompt);
  decoder.prefill(comp, prompt);
  const fullBytes = full.session.bytes();
  const policyBytes = comp.session.bytes();
  const positions = tokens.length - splitAt;
  const kl = new Float64Array(positions);
  const top1 = new Uint8Array(positions);
  const vocab = model.config.vocabSize;
  const pFull = new Float64Array(vocab);
  const pComp = new Float64Array(vocab);
  for (let i = 0; i < positions; i++) {
    const t = tokens[splitAt + i]!;
    const lf = decoder.decodeOne(full, t);
    const fullTop = argmax(lf);
    logSoftmax(lf, pFull);
    const lc = decoder.decodeOne(comp, t);
    top1[i] = argmax(lc) === fullTop ? 1 : 0;
    logSoftmax(lc, pComp);
    let d = 0;
    for (let v = 0; v < vocab; v++) d += Math.exp(pFull[v]!) * (pFull[v]! - pComp[v]!);
    kl[i] = Math.max(0, d);
  }
  const meanKL = kl.reduce((a, b) => a + b, 0) / positions;
  const top1Agreement = top1.reduce((a, b) => a + b, 0) / positions;
  return { kl, top1, meanKL, top1Agreement, policyBytes, fullBytes };
}
