/**
 * Media as the families layer receives it: what the towers produced for one image, video or
 * audio clip, with the numbers its positions and slot metadata need. Grids are in vision
 * patches, as transformers' `image_grid_thw` / `video_grid_thw` (the merged grid is h, w ÷
 * merge size); embeddings are [tokens][hidden] f32 in the tower's output order.
 */

/** Temporal patches × rows × columns of vision patches. */
export interface PatchGridSize {
  t: number;
  h: number;
  w: number;
}

export interface ImageMedia {
  kind: 'image';
  grid: PatchGridSize;
  /** [t·h·w / merge²][hidden] f32. */
  embeddings: Float32Array;
}

export interface AudioMedia {
  kind: 'audio';
  /** Tokens the audio tower produced. */
  tokens: number;
  /** Seconds each audio token covers (Omni: 0.04). Token i has time i × secondsPerToken. */
  secondsPerToken: number;
  /** [tokens][hidden] f32. */
  embeddings: Float32Array;
}

export interface VideoMedia {
  kind: 'video';
  grid: PatchGridSize;
  /** Seconds per temporal grid step (temporal_patch_size / sampled fps). */
  secondsPerGrid: number;
  /** [grid.t] seconds of each temporal step's first frame (default k × secondsPerGrid). */
  frameTimes?: readonly number[];
  /** [t·h·w / merge²][hidden] f32. */
  embeddings: Float32Array;
  /** The clip's own audio track: Omni interleaves it with the video (use_audio_in_video). */
  audio?: AudioMedia;
}

export type MediaInput = ImageMedia | VideoMedia | AudioMedia;

/** LLM tokens of one medium. */
export function mediaTokenCount(m: ImageMedia | VideoMedia | AudioMedia, mergeSize: number): number {
  return m.kind === 'audio' ? m.tokens : (m.grid.t * m.grid.h * m.grid.w) / (mergeSize * mergeSize);
}

/** Checks grid, counts and embedding sizes; throws naming `where` and the field. */
export function validateMedia(m: MediaInput, hidden: number, mergeSize: number, where: string): void {
  const whole = (v: unknown, field: string): void => {
    if (!Number.isInteger(v) || (v as number) < 1) throw new RangeError(`${where}.${field} must be a whole number ≥ 1; got ${String(v)}`);
  };
  if (m.kind === 'audio') {
    whole(m.tokens, 'tokens');
    if (!(m.secondsPerToken > 0)) throw new RangeError(`${where}.secondsPerToken must be a number > 0; got ${m.secondsPerToken}`);
  } else {
    for (const k of ['t', 'h', 'w'] as const) whole(m.grid?.[k], `grid.${k}`);
    if (m.grid.h % mergeSize !== 0 || m.grid.w % mergeSize !== 0) {
      throw new RangeError(`${where}.grid: ${m.grid.h}×${m.grid.w} patches is not a multiple of the merge size ${mergeSize}`);
    }
  }
  if (m.kind === 'video') {
    if (!(m.secondsPerGrid > 0)) throw new RangeError(`${where}.secondsPerGrid must be a number > 0; got ${m.secondsPerGrid}`);
    if (m.frameTimes && m.frameTimes.length !== m.grid.t) throw new RangeError(`${where}.frameTimes has ${m.frameTimes.length} entries; expected grid.t = ${m.grid.t}`);
    if (m.audio) validateMedia(m.audio, hidden, mergeSize, `${where}.audio`);
  }
  const n = mediaTokenCount(m, mergeSize);
  if (!(m.embeddings instanceof Float32Array) || m.embeddings.length !== n * hidden) {
    const got = m.embeddings instanceof Float32Array ? `${m.embeddings.length} values` : 'not a Float32Array';
    throw new RangeError(`${where}.embeddings: ${got}; expected tokens × hidden = ${n} × ${hidden} f32`);
  }
}
