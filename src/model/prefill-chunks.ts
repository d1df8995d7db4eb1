/**
 * Chunked and streaming prefill: where a prompt is cut into chunks, and the prompt a live
 * stream has delivered by a given time.
 *
 * - A numeric chunk size cuts every `size` tokens.
 * - "frame" starts a new chunk at every video frame: wherever a video token's time differs
 *   from the previous video token's. Audio and text go with the frame before them, so a chunk
 *   is one frame's patches plus the sound that arrived with it (the av-world layout, and
 *   Qwen2.5-Omni's interleaved chunks at the granularity of their temporal patches). A prompt
 *   without video is cut at audio time steps the same way; one without media is one chunk.
 */
import { ModalityCode, isVisualCode } from '../cache/modality.js';
import { sliceTokenMeta } from '../cache/token-meta.js';
import type { EmbeddedPrompt } from './embed-prompt.js';

/** Tokens per chunk, or one video frame (with its audio) per chunk. */
export type PrefillChunk = number | 'frame';

/** The tokens [start, end) of a prompt as a prompt of their own (copies nothing but the RoPE ids and metadata). */
export function slicePrompt(p: EmbeddedPrompt, start: number, end: number): EmbeddedPrompt {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > p.n || start >= end) {
    throw new RangeError(`slicePrompt: [${start}, ${end}) is not a non-empty range of the prompt's ${p.n} tokens`);
  }
  const m = end - start;
  const hidden = p.x.length / p.n;
  const axes = p.ropePos.length / p.n;
  const ropePos = new Int32Array(axes * m);
  for (let a = 0; a < axes; a++) ropePos.set(p.ropePos.subarray(a * p.n + start, a * p.n + end), a * m);
  return {
    n: m,
    x: p.x.subarray(start * hidden, end * hidden),
    meta: sliceTokenMeta(p.meta, start, end),
    ropePos,
    ropeNext: end === p.n ? p.ropeNext : nextRopeAfter(ropePos, axes, m),
    ids: p.ids.subarray(start, end),
  };
}

/**
 * RoPE id of a text token that follows these ids: one past the largest id on any axis (what
 * transformers gives text after an mrope span; equals the next index for 1-D positions).
 */
function nextRopeAfter(ropePos: Int32Array, axes: number, m: number): number {
  let max = -1;
  for (let i = 0; i < axes * m; i++) max = Math.max(max, ropePos[i]!);
  return max + 1;
}

/** Chunk end indices (ascending, the last = p.n) for a chunk setting. */
export function chunkEnds(p: EmbeddedPrompt, chunk: PrefillChunk): number[] {
  if (p.n === 0) return [];
  if (chunk === 'frame') return frameEnds(p);
  if (!Number.isInteger(chunk) || chunk < 1) throw new RangeError(`prefill chunk must be an integer ≥ 1 or "frame"; got ${JSON.stringify(chunk)}`);
  const ends: number[] = [];
  for (let e = chunk; e < p.n; e += chunk) ends.push(e);
  ends.push(p.n);
  return ends;
}

function frameEnds(p: EmbeddedPrompt): number[] {
  const { modality, time } = p.meta;
  let hasVideo = false;
  for (let i = 0; i < p.n && !hasVideo; i++) hasVideo = isVisualCode(modality[i]!) && Number.isFinite(time[i]!);
  const clock = (code: number): boolean => (hasVideo ? isVisualCode(code) : code === ModalityCode.audio);
  const ends: number[] = [];
  let last = Number.NaN;
  for (let i = 0; i < p.n; i++) {
    const t = time[i]!;
    if (!clock(modality[i]!) || !Number.isFinite(t)) continue;
    if (Number.isFinite(last) && t !== last) ends.push(i);
    last = t;
  }
  ends.push(p.n);
  return ends;
}

/**
 * The part of a stream delivered by `seconds`: the tokens before the first media token whose
 * time is later (the question then arrives after them, as in a live stream). Errors when no
 * media token arrives by then.
 */
export function promptUntil(p: EmbeddedPrompt, seconds: number, where: string): EmbeddedPrompt {
  if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError(`${where}: questionAt must be a number of seconds ≥ 0; got ${JSON.stringify(seconds)}`);
  const { modality, time } = p.meta;
  let cut = p.n;
  let sawMedia = false;
  for (let i = 0; i < p.n; i++) {
    const t = time[i]!;
    if (modality[i] === ModalityCode.text || !Number.isFinite(t)) continue;
    if (t > seconds) {
      cut = i;
      break;
    }
    sawMedia = true;
  }
  if (!sawMedia) throw new RangeError(`${where}: questionAt ${seconds} s is before the first media token of the prompt; expected a time within the clip`);
  return cut === p.n ? p : slicePrompt(p, 0, cut);
}
