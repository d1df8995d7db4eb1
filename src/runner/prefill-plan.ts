/**
 * How a trial prefills: in one pass, or chunk by chunk (cache.prefillChunk, or one frame at a
 * time under the streaming protocol), and whether its policy holds the cache at budget between
 * chunks. Under streaming, a sample that names `questionAt` is asked when the stream reaches
 * that time, so its prompt head is cut there.
 */
import type { ChunkedPrefill } from '../model/decoder.js';
import type { EmbeddedPrompt } from '../model/embed-prompt.js';
import { chunkEnds, promptUntil, type PrefillChunk } from '../model/prefill-chunks.js';
import type { QASample } from '../model/prompt.js';
import { FULL_CACHE } from './config-schema.js';
import type { Trial } from './sweep.js';

/** The chunk setting of a trial (undefined: one pass). */
export function prefillChunkOf(trial: Trial): PrefillChunk | undefined {
  return trial.cache.prefillChunk ?? (trial.protocol === 'streaming' ? 'frame' : undefined);
}

/**
 * Whether the trial's policy compresses between chunks: always under streaming, and under an
 * over-budget or every-N schedule when the prefill is chunked.
 */
export function holdsDuringPrefill(trial: Trial): boolean {
  if (trial.policy === FULL_CACHE || prefillChunkOf(trial) === undefined) return false;
  return trial.protocol === 'streaming' || (trial.schedule !== null && trial.schedule.kind !== 'after-prefill');
}

/** The trial's chunk plan for a prompt head (undefined: prefill in one pass). */
export function chunkPlan(trial: Trial, head: EmbeddedPrompt): ChunkedPrefill | undefined {
  const chunk = prefillChunkOf(trial);
  return chunk === undefined ? undefined : { ends: chunkEnds(head, chunk), hold: holdsDuringPrefill(trial) };
}

/** The head a trial prefills: under streaming, cut at the sample's `questionAt`. */
export function streamedHead<T extends { head: EmbeddedPrompt }>(prepared: T, sample: QASample, trial: Trial): T {
  if (trial.protocol !== 'streaming' || sample.questionAt === undefined) return prepared;
  return { ...prepared, head: promptUntil(prepared.head, sample.questionAt, `sample ${sample.id}`) };
}
