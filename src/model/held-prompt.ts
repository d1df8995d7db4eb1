/**
 * Where the answer is read from. A prefill computes its last token's logits with full
 * attention, before the policy compresses, so scoring single-token answers from those logits
 * would make every policy look lossless. scoreChoices therefore holds back the prompt's tail:
 * the head is prefilled and compressed, then the held-back text tokens are decoded one by one
 * over the compressed cache, and the last one's logits score the choices.
 * - queryAware (question inside the compressed prefix): hold back only the last token.
 * - query-agnostic: hold back the whole trailing run of text tokens (the question), so the
 *   policy compresses the context without seeing it (kvpress's protocol).
 */
import type { EmbeddedPrompt } from './embed-prompt.js';
import { slicePrompt } from './prefill-chunks.js';

/** How many trailing tokens to hold back: 0 when the prompt does not end in a text token. */
export function heldBackCount(p: EmbeddedPrompt, queryAware: boolean): number {
  let k = 0;
  while (k < p.n - 1 && p.ids[p.n - 1 - k]! >= 0) {
    k++;
    if (queryAware) break;
  }
  return k;
}

/** The first n − k tokens as a prompt of their own, and the k held-back token ids. */
export function splitPrompt(p: EmbeddedPrompt, k: number): { head: EmbeddedPrompt; tail: number[] } {
  if (!Number.isInteger(k) || k < 0 || k >= p.n) throw new RangeError(`splitPrompt: k must be in [0, ${p.n - 1}]; got ${k}`);
  const m = p.n - k;
  // A held-back token is text: all its RoPE axes share one id, which is where the head ends.
  const head: EmbeddedPrompt = { ...slicePrompt(p, 0, m), ropeNext: k === 0 ? p.ropeNext : p.ropePos[m]! };
  return { head, tail: Array.from(p.ids.subarray(m)) };
}
