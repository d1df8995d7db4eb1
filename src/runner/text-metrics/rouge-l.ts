/**
 * ROUGE-L (Lin, 2004) as pycocoevalcap's Rouge computes it: per sample, the LCS of the
 * candidate with each reference gives precision LCS/|candidate| and recall LCS/|reference|;
 * the best precision and best recall over the references (taken separately) combine into
 * F_β = (1 + β²)·P·R / (R + β²·P) with β = 1.2; the corpus score is the mean over samples.
 */

const BETA = 1.2;

/** Length of the longest common subsequence of two word lists. */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  let prev = new Array<number>(b.length + 1).fill(0);
  let cur = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) cur[j] = a[i - 1] === b[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!);
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

/** ROUGE-L F_β of one candidate against its references (0 when either side is empty). */
export function rougeL(candidate: readonly string[], references: readonly (readonly string[])[]): number {
  if (references.length === 0) throw new RangeError('ROUGE-L: no reference');
  let p = 0;
  let r = 0;
  for (const ref of references) {
    const lcs = lcsLength(ref, candidate);
    if (candidate.length > 0) p = Math.max(p, lcs / candidate.length);
    if (ref.length > 0) r = Math.max(r, lcs / ref.length);
  }
  if (p === 0 || r === 0) return 0;
  return ((1 + BETA ** 2) * p * r) / (r + BETA ** 2 * p);
}

/** Mean ROUGE-L over the corpus. */
export function corpusRougeL(hypotheses: readonly (readonly string[])[], references: readonly (readonly (readonly string[])[])[]): number {
  if (hypotheses.length !== references.length || hypotheses.length === 0) throw new RangeError(`ROUGE-L: ${hypotheses.length} hypotheses, ${references.length} reference sets`);
  return hypotheses.reduce((a, h, i) => a + rougeL(h, references[i]!), 0) / hypotheses.length;
}
