/**
 * Corpus BLEU-1..N (Papineni et al., ACL 2002) as pycocoevalcap's BleuScorer computes it with
 * option "closest" (what AVSD / DSTC evaluation reports): clipped n-gram matches and
 * candidate n-gram counts summed over the corpus, the effective reference length of each
 * sample being the reference length closest to the candidate's (the shorter on a tie), one
 * brevity penalty for the corpus. BLEU-n is the geometric mean of the modified precisions
 * p_1..p_n times that penalty. No smoothing: a corpus without any matching 4-gram scores 0.
 */
import { ngramCounts, ngramOrder } from './ngrams.js';

/**
 * hypotheses[i]: sample i's candidate words; references[i]: its reference word lists (≥ 1).
 * Returns [BLEU-1, …, BLEU-maxN] in [0, 1].
 */
export function corpusBleu(hypotheses: readonly (readonly string[])[], references: readonly (readonly (readonly string[])[])[], maxN = 4): number[] {
  if (hypotheses.length !== references.length) throw new RangeError(`BLEU: ${hypotheses.length} hypotheses but ${references.length} reference sets`);
  const correct = new Array<number>(maxN).fill(0);
  const guess = new Array<number>(maxN).fill(0);
  let testLen = 0;
  let refLen = 0;
  hypotheses.forEach((hyp, i) => {
    const refs = references[i]!;
    if (refs.length === 0) throw new RangeError(`BLEU: sample ${i} has no reference`);
    const maxRef = new Map<string, number>();
    for (const ref of refs) for (const [g, c] of ngramCounts(ref, maxN)) maxRef.set(g, Math.max(maxRef.get(g) ?? 0, c));
    for (const [g, c] of ngramCounts(hyp, maxN)) correct[ngramOrder(g) - 1]! += Math.min(c, maxRef.get(g) ?? 0);
    for (let k = 0; k < maxN; k++) guess[k]! += Math.max(0, hyp.length - k);
    testLen += hyp.length;
    refLen += closestLength(refs.map((r) => r.length), hyp.length);
  });
  // pycocoevalcap's epsilons: a zero count gives 0 rather than NaN.
  const tiny = 1e-15;
  const small = 1e-9;
  const ratio = (testLen + tiny) / (refLen + small);
  const brevity = ratio < 1 ? Math.exp(1 - 1 / ratio) : 1;
  const scores: number[] = [];
  let product = 1;
  for (let k = 0; k < maxN; k++) {
    product *= (correct[k]! + tiny) / (guess[k]! + small);
    scores.push(product ** (1 / (k + 1)) * brevity);
  }
  return scores;
}

/** The reference length closest to `len`, the shorter on a tie. */
function closestLength(lengths: number[], len: number): number {
  let best = lengths[0]!;
  for (const l of lengths) {
    const d = Math.abs(l - len);
    const bd = Math.abs(best - len);
    if (d < bd || (d === bd && l < best)) best = l;
  }
  return best;
}
