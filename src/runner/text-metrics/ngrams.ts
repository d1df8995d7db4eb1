/** n-gram counting shared by BLEU and CIDEr. */

/** Counts of every 1..maxN-gram of `words`, keyed by the words joined with a space. */
export function ngramCounts(words: readonly string[], maxN: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let n = 1; n <= maxN; n++) {
    for (let i = 0; i + n <= words.length; i++) {
      const key = words.slice(i, i + n).join(' ');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

/** Order of an n-gram key made by ngramCounts (words never contain spaces). */
export function ngramOrder(key: string): number {
  let n = 1;
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) === 0x20) n++;
  return n;
}
