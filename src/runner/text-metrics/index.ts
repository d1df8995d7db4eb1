/**
 * Generation metrics of one trial: per-sample exact match and normalised contains (means),
 * and the corpus metrics AVSD reports (BLEU-1..4, ROUGE-L, CIDEr) over the trial's samples.
 * METEOR is not computed: it needs WordNet synonyms and paraphrase tables (the reference
 * scorer is a Java jar) and no maintained JavaScript port exists.
 */
import { corpusBleu } from './bleu.js';
import { corpusCider } from './cider.js';
import { containsAnswer, exactMatch, metricTokens } from './normalise.js';
import { corpusRougeL } from './rouge-l.js';

export { corpusBleu } from './bleu.js';
export { corpusCider } from './cider.js';
export { corpusRougeL, lcsLength, rougeL } from './rouge-l.js';
export { containsAnswer, exactMatch, metricTokens, normaliseAnswer } from './normalise.js';

export interface GenerationScores {
  exactMatch: number;
  contains: number;
  /** [BLEU-1, BLEU-2, BLEU-3, BLEU-4]. */
  bleu: number[];
  rougeL: number;
  cider: number;
}

/** predictions[i] scored against references[i] (≥ 1 reference text each). */
export function generationScores(predictions: readonly string[], references: readonly (readonly string[])[]): GenerationScores {
  if (predictions.length !== references.length || predictions.length === 0) throw new RangeError(`generation metrics: ${predictions.length} predictions, ${references.length} reference sets`);
  const hyps = predictions.map(metricTokens);
  const refs = references.map((rs) => rs.map(metricTokens));
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    exactMatch: mean(predictions.map((p, i) => exactMatch(p, references[i]!))),
    contains: mean(predictions.map((p, i) => containsAnswer(p, references[i]!))),
    bleu: corpusBleu(hyps, refs),
    rougeL: corpusRougeL(hyps, refs),
    cider: corpusCider(hyps, refs),
  };
}
