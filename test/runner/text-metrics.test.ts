/**
 * Generation metrics against published values: BLEU on NLTK's documented corpus_bleu example
 * (nltk/translate/bleu_score.py docstrings: corpus 0.5920…, sentence 0.5045…, mean of the two
 * sentence scores 0.6223…) and the BLEU paper's modified-precision example (Papineni et al.
 * 2002, §2.1: "the the the the the the the" scores 2/7); ROUGE-L's LCS precision and recall on
 * Google's rouge-score README example (P 0.625, R 0.5556), combined with pycocoevalcap's β = 1.2;
 * CIDEr-D on cases derived by hand from pycocoevalcap's cider_scorer.py (derivation inline).
 */
import { describe, expect, it } from 'vitest';
import { containsAnswer, corpusBleu, corpusCider, corpusRougeL, exactMatch, generationScores, lcsLength, metricTokens, normaliseAnswer, rougeL } from '../../src/runner/text-metrics/index.js';

const hyp1 = ['It', 'is', 'a', 'guide', 'to', 'action', 'which', 'ensures', 'that', 'the', 'military', 'always', 'obeys', 'the', 'commands', 'of', 'the', 'party'];
const ref1a = ['It', 'is', 'a', 'guide', 'to', 'action', 'that', 'ensures', 'that', 'the', 'military', 'will', 'forever', 'heed', 'Party', 'commands'];
const ref1b = ['It', 'is', 'the', 'guiding', 'principle', 'which', 'guarantees', 'the', 'military', 'forces', 'always', 'being', 'under', 'the', 'command', 'of', 'the', 'Party'];
const ref1c = ['It', 'is', 'the', 'practical', 'guide', 'for', 'the', 'army', 'always', 'to', 'heed', 'the', 'directions', 'of', 'the', 'party'];
const hyp2 = ['he', 'read', 'the', 'book', 'because', 'he', 'was', 'interested', 'in', 'world', 'history'];
const ref2a = ['he', 'was', 'interested', 'in', 'world', 'history', 'because', 'he', 'read', 'the', 'book'];

describe('BLEU', () => {
  it('matches NLTK’s documented corpus and sentence scores', () => {
    // NLTK's doctests print the leading digits ("0.5920..."): compare the truncation.
    const digits4 = (x: number): string => (Math.floor(x * 1e4) / 1e4).toFixed(4);
    expect(digits4(corpusBleu([hyp1, hyp2], [[ref1a, ref1b, ref1c], [ref2a]])[3]!)).toBe('0.5920');
    const s1 = corpusBleu([hyp1], [[ref1a, ref1b, ref1c]])[3]!;
    const s2 = corpusBleu([hyp2], [[ref2a]])[3]!;
    expect(digits4(s1)).toBe('0.5045');
    expect(digits4((s1 + s2) / 2)).toBe('0.6223');
  });

  it('clips repeated words: the BLEU paper’s "the the the …" has unigram precision 2/7', () => {
    const bleu = corpusBleu([metricTokens('the the the the the the the')], [[metricTokens('The cat is on the mat.'), metricTokens('There is a cat on the mat.')]]);
    expect(bleu[0]).toBeCloseTo(2 / 7, 9);
    expect(bleu[3]).toBeCloseTo(0, 6);
  });

  it('penalises short candidates against the closest reference length', () => {
    // 2 words against a 4-word reference: every n-gram matches, brevity penalty e^(1 − 4/2).
    expect(corpusBleu([['a', 'b']], [[['a', 'b', 'c', 'd']]])[1]).toBeCloseTo(Math.exp(-1), 6);
    expect(() => corpusBleu([['a']], [])).toThrow(/1 hypotheses but 0 reference sets/);
  });
});

describe('ROUGE-L', () => {
  it('LCS precision and recall of rouge-score’s README example, F with β = 1.2', () => {
    const ref = metricTokens('The quick brown fox jumps over the lazy dog');
    const cand = metricTokens('The quick brown dog jumps on the log.');
    expect(lcsLength(ref, cand)).toBe(5);
    const p = 0.625;
    const r = 0.5555555555555556;
    expect(5 / cand.length).toBe(p);
    expect(5 / ref.length).toBeCloseTo(r, 15);
    expect(rougeL(cand, [ref])).toBeCloseTo(((1 + 1.44) * p * r) / (r + 1.44 * p), 12);
  });

  it('takes the best precision and best recall over references separately; 0 without overlap', () => {
    // vs ["a"]: P 1/3, R 1; vs ["a","b","c","x"]: P 1, R 3/4 → P 1, R 1 → F 1.
    expect(rougeL(['a', 'b', 'c'], [['a'], ['a', 'b', 'c', 'x']])).toBeCloseTo(1, 12);
    expect(rougeL(['z'], [['a']])).toBe(0);
    expect(corpusRougeL([['a'], ['z']], [[['a']], [['a']]])).toBeCloseTo(0.5, 12);
  });
});

describe('CIDEr-D', () => {
  const A = ['a', 'b', 'c', 'd'];
  const B = ['e', 'f', 'g', 'h'];

  it('a candidate equal to its only reference scores 10 when its n-grams are rare in the corpus', () => {
    // Two samples, disjoint n-grams: idf = ln 2 − ln 1 for every n-gram, every cosine 1, no length penalty.
    expect(corpusCider([A, B], [[A], [B]])).toBeCloseTo(10, 12);
  });

  it('hand-derived partial match with the Gaussian length penalty', () => {
    // Candidate "e f g" vs reference "e f g h" (equal idf weights): cosines n=1 3/(√3·2),
    // n=2 2/(√2·√3), n=3 1/(1·√2), n=4 0 (empty); bigram-count δ = 2 − 3, penalty e^(−1/72).
    const partial = 10 * Math.exp(-1 / 72) * (3 / (Math.sqrt(3) * 2) + 2 / Math.sqrt(6) + 1 / Math.SQRT2) / 4;
    expect(corpusCider([A, ['e', 'f', 'g']], [[A], [B]])).toBeCloseTo((10 + partial) / 2, 12);
  });

  it('n-grams every sample’s references share carry no weight (idf 0)', () => {
    expect(corpusCider([['x'], ['x']], [[['x', 'a']], [['x', 'b']]])).toBe(0);
  });
});

describe('exact match and contains', () => {
  it('normalise case, punctuation and articles (SQuAD)', () => {
    expect(normaliseAnswer('The Dog, barks!')).toBe('dog barks');
    expect(exactMatch('A brown sofa.', ['on a brown sofa', 'brown sofa'])).toBe(1);
    expect(exactMatch('brown sofa', ['on a brown sofa'])).toBe(0);
  });

  it('contains counts whole words only', () => {
    expect(containsAnswer('He sat on the sofa today.', ['Sofa'])).toBe(1);
    expect(containsAnswer('He sat on the sofas.', ['sofa'])).toBe(0);
    expect(containsAnswer('anything', [''])).toBe(0);
  });

  it('generationScores aggregates a corpus', () => {
    const s = generationScores(['the cat sat', 'no idea'], [['The cat sat.'], ['a dog']]);
    expect(s.exactMatch).toBe(0.5);
    expect(s.contains).toBe(0.5);
    expect(s.bleu).toHaveLength(4);
    expect(s.rougeL).toBeCloseTo(0.5, 12);
  });
});
