/**
 * A JSONL sample's optional `evidence`: where in the prompt the answer lies, so runs report
 * `evidence_kept` on any dataset. Two forms: token index ranges `[[start, end), …]` of the
 * prompt (`<s>` = 0, end exclusive), or media time spans `{"seconds": [[t0, t1], …]}` (closed),
 * which select the media tokens whose `time` falls inside; those are matched against the
 * cache's slot metadata when the run scores (evidence-recall.ts).
 */
import { z } from 'zod';
import type { QASample } from '../model/prompt.js';

/** Most tokens a token-range evidence may name (ranges are expanded to indices). */
export const MAX_EVIDENCE_TOKENS = 1 << 20;

const tokenRange = z.tuple([z.number().int().min(0), z.number().int().min(0)]).describe('[start, end) token indices');
const timeSpan = z.tuple([z.number().finite(), z.number().finite()]).describe('[t0, t1] seconds');

export const evidenceSchema = z.union([
  z.array(tokenRange).min(1),
  z.strictObject({ seconds: z.array(timeSpan).min(1).describe('Media time spans [[t0, t1], …] in seconds') }),
]);

export type JsonlEvidence = z.infer<typeof evidenceSchema>;

/** The time field of a prompt piece, when it is a media span that has one. */
interface TimedPiece {
  time?: number[];
}

/**
 * Checks the evidence against the sample's pieces and turns it into the sample's fields:
 * `evidence` (token indices) or `evidenceSeconds` (spans). `where` names the JSONL field.
 */
export function resolveEvidence(ev: JsonlEvidence, pieces: readonly object[], where: string): Pick<QASample, 'evidence' | 'evidenceSeconds'> {
  if (Array.isArray(ev)) {
    const out: number[] = [];
    for (const [k, [a, b]] of ev.entries()) {
      if (b <= a) throw new Error(`${where}[${k}]: [${a}, ${b}] is empty; expected [start, end) with end > start`);
      if (out.length + (b - a) > MAX_EVIDENCE_TOKENS) throw new Error(`${where}: names more than ${MAX_EVIDENCE_TOKENS} tokens; expected ranges of the prompt's tokens`);
      for (let i = a; i < b; i++) out.push(i);
    }
    return { evidence: [...new Set(out)].sort((x, y) => x - y) };
  }
  const times = pieces.flatMap((p) => (p as TimedPiece).time ?? []);
  if (times.length === 0) {
    throw new Error(`${where}.seconds: the prompt has no media piece with "time"; time spans need media tokens that carry time (or give token ranges [[start, end), …])`);
  }
  for (const [k, [t0, t1]] of ev.seconds.entries()) {
    if (t1 < t0) throw new Error(`${where}.seconds[${k}]: [${t0}, ${t1}] ends before it starts; expected [t0, t1] with t1 ≥ t0`);
    if (!times.some((t) => t >= t0 && t <= t1)) throw new Error(`${where}.seconds[${k}]: no media token has a time in [${t0}, ${t1}] s (the prompt's media times run ${times.reduce((x, y) => Math.min(x, y))}–${times.reduce((x, y) => Math.max(x, y))} s)`);
  }
  return { evidenceSeconds: ev.seconds.map(([a, b]) => [a, b] as [number, number]) };
}
