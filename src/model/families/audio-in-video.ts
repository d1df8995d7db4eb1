/**
 * Qwen2.5-Omni `use_audio_in_video`: a video and its audio track share one time axis and
 * their tokens interleave in chunks of `seconds_per_chunk`:
 *   <|vision_bos|><|audio_bos|> video chunk 0, audio chunk 0, video chunk 1, … <|audio_eos|><|vision_eos|>
 * The token ORDER is the processor's (Qwen2_5OmniProcessor.replace_multimodal_special_tokens:
 * chunks of the f64 times k × second_per_grid × position_id_per_seconds); the ids are the
 * model's (get_rope_index: chunks of the truncated f32 temporal ids), written slot by slot in
 * the model's order, exactly as transformers pairs them. The two agree unless an f32 product
 * lands on the other side of a chunk boundary than its f64 value.
 */
import { MropeIdWriter, sequentialIds } from './mrope-ids.js';

/**
 * transformers' get_chunked_index: [start, end) runs of the monotonically increasing `values`
 * where run k closes at the first value ≥ (k+1)·tokensPerChunk (one run per crossing: a value
 * that jumps several chunks still closes only one).
 */
export function chunkedIndex(values: ArrayLike<number>, tokensPerChunk: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let start = 0;
  let chunk = 1;
  for (let i = 0; i < values.length; i++) {
    if (values[i]! >= chunk * tokensPerChunk) {
      out.push([start, i]);
      start = i;
      chunk++;
    }
  }
  out.push([start, values.length]);
  return out;
}

/** Slot kinds of the interleaved block. */
export const AvSlot = { video: 0, audio: 1 } as const;

export interface AudioInVideoInput {
  /** Video ids relative to the span start, [3][m] (visionRelativeIds of the model's temporal ids). */
  videoIds: Int32Array;
  /** [m] processor time index of each video token: temporal step × secondsPerGrid × positionsPerSecond (f64). */
  videoTimes: Float64Array;
  audioTokens: number;
  /** int(position_id_per_seconds × seconds_per_chunk). */
  tokensPerChunk: number;
}

/**
 * Writes the ids of the whole block (bos pair, interleaved chunks, eos pair) into `writer`;
 * returns [m + audioTokens] slot kinds (AvSlot codes) in sequence order, between the bos and eos pairs.
 */
export function writeAudioInVideo(writer: MropeIdWriter, input: AudioInVideoInput): Uint8Array {
  const m = input.videoIds.length / 3;
  const a = input.audioTokens;
  const audioIds = sequentialIds(a);
  const audioIndex = Float64Array.from({ length: a }, (_, i) => i);
  // Processor order.
  const order = new Uint8Array(m + a);
  const pv = chunkedIndex(input.videoTimes, input.tokensPerChunk);
  const pa = chunkedIndex(audioIndex, input.tokensPerChunk);
  let at = 0;
  for (let j = 0; j < Math.max(pv.length, pa.length); j++) {
    if (j < pv.length) at += pv[j]![1] - pv[j]![0]; // video slots stay 0
    if (j < pa.length) for (let e = pa[j]![1] - pa[j]![0]; e > 0; e--) order[at++] = AvSlot.audio;
  }
  // Model ids.
  writer.shared(2);
  const base = writer.next;
  const mv = chunkedIndex(input.videoIds.subarray(0, m), input.tokensPerChunk);
  const ma = chunkedIndex(audioIndex, input.tokensPerChunk);
  for (let j = 0; j < Math.max(mv.length, ma.length); j++) {
    if (j < mv.length) writer.piece(slice3(input.videoIds, m, mv[j]!), base);
    if (j < ma.length) writer.piece(slice3(audioIds, a, ma[j]!), base);
  }
  writer.shared(2);
  return order;
}

/** Columns [start, end) of a [3][len] array. */
function slice3(ids: Int32Array, len: number, [start, end]: [number, number]): Int32Array {
  const n = end - start;
  const out = new Int32Array(3 * n);
  for (let a = 0; a < 3; a++) out.set(ids.subarray(a * len + start, a * len + end), a * n);
  return out;
}
