/**
 * Text normalisation for generation metrics.
 * - normaliseAnswer: SQuAD's answer normalisation (lower case, punctuation and the articles
 *   a / an / the removed, whitespace collapsed), used by exact match and contains.
 * - metricTokens: the words BLEU / ROUGE-L / CIDEr count. pycocoevalcap tokenises with the
 *   Stanford PTB tokenizer (Java), lower-cases and drops punctuation; this is a dependency-free
 *   approximation of that: lower case, punctuation dropped, split on whitespace.
 */

const PUNCTUATION = /[\p{P}\p{S}]/gu;

/** SQuAD-style normal form of an answer: "The Dog, barks!" → "dog barks". */
export function normaliseAnswer(text: string): string {
  return text
    .toLowerCase()
    .replace(PUNCTUATION, ' ')
    .replace(/\b(a|an|the)\b/g, ' ')
    .split(/\s+/)
    .filter((w) => w !== '')
    .join(' ');
}

/** Lower-cased words with punctuation dropped, as the corpus metrics count them. */
export function metricTokens(text: string): string[] {
  return text
    .toLowerCase()
    .replace(PUNCTUATION, ' ')
    .split(/\s+/)
    .filter((w) => w !== '');
}

/** 1 when the normalised prediction equals any normalised reference, else 0. */
export function exactMatch(prediction: string, references: readonly string[]): number {
  const p = normaliseAnswer(prediction);
  return references.some((r) => normaliseAnswer(r) === p) ? 1 : 0;
}

/**
 * 1 when some normalised reference occurs in the normalised prediction as whole words
 * ("on the sofa" contains "sofa", "sofas" does not), else 0. An empty reference never counts.
 */
export function containsAnswer(prediction: string, references: readonly string[]): number {
  const p = ` ${normaliseAnswer(prediction)} `;
  return references.some((r) => {
    const n = normaliseAnswer(r);
    return n !== '' && p.includes(` ${n} `);
  })
    ? 1
    : 0;
}
