/**
 * CIDEr (Vedantam et al., CVPR 2015) as pycocoevalcap's Cider computes it (the variant with
 * clipping and a length penalty that the paper calls CIDEr-D, σ = 6). n-grams n = 1..4 are
 * weighted by tf·idf, idf = ln(#samples) − ln(max(1, df)) with df the number of samples whose
 * references contain the n-gram; per n, the clipped cosine Σ min(h, r)·r / (‖h‖‖r‖) is scaled
 * by exp(−δ²/2σ²); the sample's score is 10 × the mean over n, averaged over its references;
 * the corpus score is the mean over samples. The idf comes from the corpus scored, so CIDEr
 * of one sample depends on the others.
 * δ is pycocoevalcap's: the difference of the two sentences' bigram counts (its `length` sums
 * the term frequencies of the n = 2 entries), kept so scores match the reference scorer.
 */
import { ngramCounts, ngramOrder } from './ngrams.js';

const MAX_N = 4;
const SIGMA = 6;

interface Vector {
  /** Per order n−1: n-gram → tf·idf. */
  weights: Map<string, number>[];
  norms: number[];
  length: number;
}

export function corpusCider(hypotheses: readonly (readonly string[])[], references: readonly (readonly (readonly string[])[])[]): number {
  if (hypotheses.length !== references.length || hypotheses.length === 0) throw new RangeError(`CIDEr: ${hypotheses.length} hypotheses, ${references.length} reference sets`);
  const refCounts = references.map((refs, i) => {
    if (refs.length === 0) throw new RangeError(`CIDEr: sample ${i} has no reference`);
    return refs.map((r) => ngramCounts(r, MAX_N));
  });
  const df = new Map<string, number>();
  for (const refs of refCounts) {
    const seen = new Set<string>();
    for (const c of refs) for (const g of c.keys()) seen.add(g);
    for (const g of seen) df.set(g, (df.get(g) ?? 0) + 1);
  }
  const logSamples = Math.log(references.length);
  const toVector = (counts: Map<string, number>): Vector => {
    const weights = Array.from({ length: MAX_N }, () => new Map<string, number>());
    const norms = new Array<number>(MAX_N).fill(0);
    let length = 0;
    for (const [g, tf] of counts) {
      const n = ngramOrder(g) - 1;
      const w = tf * (logSamples - Math.log(Math.max(1, df.get(g) ?? 0)));
      weights[n]!.set(g, w);
      norms[n]! += w * w;
      if (n === 1) length += tf;
    }
    return { weights, norms: norms.map(Math.sqrt), length };
  };
  let total = 0;
  hypotheses.forEach((hyp, i) => {
    const h = toVector(ngramCounts(hyp, MAX_N));
    let sum = 0;
    for (const rc of refCounts[i]!) {
      const r = toVector(rc);
      const penalty = Math.exp(-((h.length - r.length) ** 2) / (2 * SIGMA ** 2));
      for (let n = 0; n < MAX_N; n++) {
        let v = 0;
        for (const [g, hw] of h.weights[n]!) {
          const rw = r.weights[n]!.get(g) ?? 0;
          v += Math.min(hw, rw) * rw;
        }
        if (h.norms[n] !== 0 && r.norms[n] !== 0) v /= h.norms[n]! * r.norms[n]!;
        sum += (v * penalty) / MAX_N;
      }
    }
    total += (10 * sum) / refCounts[i]!.length;
  });
  return total / hypotheses.length;
}
