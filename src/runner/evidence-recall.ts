/**
 * Evidence recall: of the prompt tokens that hold a sample's answer, the fraction a compressed
 * cache still holds exactly (a slot at that position), averaged over layers and KV heads. A
 * token merged into another slot or absorbed into a retention state counts as gone: this
 * measures what eviction kept, not what a merge or state may carry. Evidence given as media
 * time spans counts the media tokens whose time falls inside (slot metadata `time`).
 */
import type { CacheSession } from '../cache/cache-session.js';
import { ModalityCode } from '../cache/modality.js';
import type { QASample } from '../model/prompt.js';

export function evidenceKept(session: CacheSession, evidence: readonly number[]): number | undefined {
  if (evidence.length === 0) return undefined;
  const want = new Set(evidence);
  return meanOverHeads(session, want.size, (pos) => want.has(pos));
}

/**
 * Fraction of the prompt's media tokens timed inside `spans` ([t0, t1] seconds, closed) that
 * the cache holds; `total` is how many the prompt had (the cache may have dropped some).
 */
export function evidenceKeptInSpans(session: CacheSession, spans: readonly (readonly [number, number])[], total: number): number | undefined {
  if (total === 0) return undefined;
  return meanOverHeads(session, total, (_pos, modality, time) => modality !== ModalityCode.text && inSpans(time, spans));
}

/**
 * The sample's evidence recall by whichever form of evidence it names (undefined: none).
 * `promptTokens` (the prompt's length as the model saw it) refuses token evidence past its end.
 */
export function sampleEvidenceKept(session: CacheSession, sample: QASample, promptTokens = Infinity): number | undefined {
  if (sample.evidence) {
    const last = sample.evidence.reduce((a, b) => Math.max(a, b), -1);
    if (last >= promptTokens) {
      throw new Error(`sample "${sample.id}": evidence names token ${last}, but its prompt has ${promptTokens} tokens (token ranges index the prompt's tokens as the model sees them, <s> = 0)`);
    }
    return evidenceKept(session, sample.evidence);
  }
  if (!sample.evidenceSeconds) return undefined;
  const spans = sample.evidenceSeconds;
  let total = 0;
  for (const s of sample.prompt.segments) {
    if (s.kind === 'media') {
      throw new Error(`sample "${sample.id}": evidence in seconds is not supported on samples with media files (their token times exist only once the towers ran); give token ranges instead`);
    }
    if (s.kind === 'text' || s.kind === 'tokens' || !s.time) continue;
    for (const t of s.time) if (inSpans(t, spans)) total++;
  }
  return evidenceKeptInSpans(session, spans, total);
}

function inSpans(t: number, spans: readonly (readonly [number, number])[]): boolean {
  return spans.some(([a, b]) => t >= a && t <= b); // NaN (no time) is in no span
}

/** Mean over layers and KV heads of (slots that `hit`) / `total`. */
function meanOverHeads(session: CacheSession, total: number, hit: (position: number, modality: number, time: number) => boolean): number {
  const { numLayers, kvHeads } = session.options;
  let sum = 0;
  for (let l = 0; l < numLayers; l++) {
    const cache = session.layer(l);
    for (let h = 0; h < kvHeads; h++) {
      const meta = cache.headMeta(h);
      const n = cache.length(h);
      let hits = 0;
      for (let i = 0; i < n; i++) if (hit(meta.position[i]!, meta.modality[i]!, meta.time[i]!)) hits++;
      sum += hits / total;
    }
  }
  return sum / (numLayers * kvHeads);
}
