/**
 * How many LLM tokens a tower produces for one input, without running it: the chat-template
 * layer needs these counts to expand `<|image_pad|>` / `<|video_pad|>` / `<|AUDIO|>` placeholders.
 */

/** Patch grid of one image or video in vision patches (temporal patches × rows × columns). */
export interface PatchGrid {
  t: number;
  h: number;
  w: number;
}

/**
 * Merged vision tokens of one image/video: t·h·w / mergeSize² (the patch merger folds each
 * mergeSize×mergeSize block of patches into one token). h and w must be multiples of mergeSize.
 */
export function visionTokenCount(grid: PatchGrid, mergeSize: number): number {
  for (const k of ['t', 'h', 'w'] as const) {
    if (!Number.isInteger(grid[k]) || grid[k] < 1) throw new RangeError(`visionTokenCount: grid.${k} must be a whole number ≥ 1; got ${grid[k]}`);
  }
  if (!Number.isInteger(mergeSize) || mergeSize < 1) throw new RangeError(`visionTokenCount: mergeSize must be a whole number ≥ 1; got ${mergeSize}`);
  if (grid.h % mergeSize !== 0 || grid.w % mergeSize !== 0) {
    throw new RangeError(`visionTokenCount: grid ${grid.h}×${grid.w} is not a multiple of mergeSize ${mergeSize}`);
  }
  return (grid.t * grid.h * grid.w) / (mergeSize * mergeSize);
}

/** Frames left after the audio tower's stride-2 conv: (frames − 1) // 2 + 1. */
export function audioFramesAfterConv(frames: number): number {
  return ((frames - 1) >> 1) + 1;
}

/**
 * Audio tokens of the Qwen2.5-Omni audio encoder for `frames` valid mel frames (10 ms each):
 * the stride-2 conv, then stride-2 average pooling, as transformers'
 * `Qwen2_5OmniAudioEncoder._get_feat_extract_output_lengths` computes it.
 */
export function audioTokenCount(frames: number): number {
  if (!Number.isInteger(frames) || frames < 1) throw new RangeError(`audioTokenCount: frames must be a whole number ≥ 1; got ${frames}`);
  return ((audioFramesAfterConv(frames) - 2) >> 1) + 1;
}
