/**
 * Evidence recall: of the prompt tokens that hold a sample's answer, the fraction a compressed
 * cache still holds exactly (a slot at that position), averaged over layers and KV heads. A
 * token merged into another slot or absorbed into a retention state counts as gone: this
 * measures what eviction kept, not what a merge or state may carry.
 */
import type { CacheSession } from '../cache/cache-session.js';

export function evidenceKept(session: CacheSession, evidence: readonly number[]): number | undefined {
  if (evidence.length === 0) return undefined;
  const want = new Set(evidence);
  const { numLayers, kvHeads } = session.options;
  let sum = 0;
  for (let l = 0; l < numLayers; l++) {
    const cache = session.layer(l);
    for (let h = 0; h < kvHeads; h++) {
      const pos = cache.headMeta(h).position;
      const n = cache.length(h);
      let hit = 0;
      for (let i = 0; i < n; i++) if (want.has(pos[i]!)) hit++;
      sum += hit / want.size;
    }
  }
  return sum / (numLayers * kvHeads);
}
