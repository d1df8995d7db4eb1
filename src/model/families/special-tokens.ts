/**
 * Special tokens a rendered chat prompt relies on must exist in the tokenizer: otherwise
 * `<|vision_bos|>` would silently tokenize as a dozen byte pieces and the model would see
 * garbage where a marker should be.
 */
import type { TextTokenizer } from '../tokenizer.js';

/** `<|name|>` tokens in Qwen's spelling. */
const SPECIAL_PATTERN = /<\|[^<>|\s]+\|>/g;

/** The id of a special token's text, or null when the tokenizer does not hold it as one token. */
export function specialTokenId(tok: TextTokenizer, token: string): number | null {
  const ids = tok.encode(token);
  return ids.length === 1 ? ids[0]! : null;
}

/** Throws naming both files when `text` writes a `<|…|>` token the tokenizer lacks. */
export function checkSpecialTokens(tok: TextTokenizer, text: string, templateSource: string, tokenizerSource: string): void {
  const seen = new Set(text.match(SPECIAL_PATTERN) ?? []);
  for (const token of seen) {
    if (specialTokenId(tok, token) === null) {
      throw new Error(`${templateSource}: the template writes ${token}, which ${tokenizerSource} does not hold as a token (add it to added_tokens or fix the template)`);
    }
  }
}

/** The id of a token the family needs; throws naming the tokenizer file when absent. */
export function requireTokenId(tok: TextTokenizer, token: string, tokenizerSource: string, why: string): number {
  const id = specialTokenId(tok, token);
  if (id === null) throw new Error(`${tokenizerSource}: has no token ${token}, which ${why}`);
  return id;
}
