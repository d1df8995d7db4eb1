/**
 * The multi-turn protocol's unit: the questions of one clip. Samples share a context when
 * their prompts are equal up to the trailing text (the question, which the query-agnostic
 * split holds back): same segments, same media bytes. Under the other protocols every sample
 * is a unit of its own.
 */
import type { PromptSegment, QASample } from '../model/prompt.js';
import type { Protocol } from './config-schema.js';
import { stableHash } from './stable-hash.js';

/** FNV-1a over the bytes of a typed array (content identity of a media span). */
function bytesHash(a: ArrayBufferView): string {
  const b = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return `${b.length}:${(h >>> 0).toString(16)}`;
}

function describeSegment(s: PromptSegment): unknown {
  if (s.kind === 'text') return { text: s.text };
  if (s.kind === 'tokens') return { ids: s.ids };
  if (s.kind === 'media') return { media: s.request, start: s.start ?? null, end: s.end ?? null };
  const optional = [s.time, s.row, s.col].map((x) => (x ? bytesHash(x) : null));
  return { kind: s.kind, modality: s.modality, n: s.n, segment: s.segment ?? null, data: bytesHash(s.data), optional };
}

/** Identity of everything before the sample's trailing text / token segments. */
export function contextKey(sample: QASample): string {
  const segs = sample.prompt.segments;
  let end = segs.length;
  while (end > 0 && (segs[end - 1]!.kind === 'text' || segs[end - 1]!.kind === 'tokens')) end--;
  return stableHash({ bos: sample.prompt.addBos ?? null, context: segs.slice(0, end).map(describeSegment) });
}

/** Samples grouped into the protocol's units, in order of first appearance. */
export function sampleUnits(samples: QASample[], protocol: Protocol): QASample[][] {
  if (protocol !== 'multi-turn') return samples.map((s) => [s]);
  const byContext = new Map<string, QASample[]>();
  for (const s of samples) {
    const k = contextKey(s);
    const unit = byContext.get(k);
    if (unit) unit.push(s);
    else byContext.set(k, [s]);
  }
  return [...byContext.values()];
}
