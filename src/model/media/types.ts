/**
 * What the media readers hand to the towers. The vision and audio towers (src/model/towers)
 * and the families' placeholder/position rules (src/model/families) consume these shapes.
 */

/** A video (or image) preprocessed for a Qwen2-VL-family vision tower. */
export interface VisualInput {
  /** [grid.t * grid.h * grid.w][channels * temporalPatch * patch * patch] f32, in HF's patch order (the order Qwen2VLImageProcessor's flatten_patches produces, incl. the merge-size block ordering). */
  pixelValues: Float32Array;
  grid: { t: number; h: number; w: number };
  patchDim: number;
  /** Seconds covered by one temporal grid step (temporal_patch_size / sampled fps); 0 for an image. */
  secondsPerGrid: number;
  /** [frames] timestamps in seconds of the sampled frames (in the source file). */
  frameTimes: Float32Array;
  /** Size in pixels of each frame after smart resize (grid.h * patch, grid.w * patch). */
  resized: { height: number; width: number };
  /** Size in pixels of the decoded source frames. */
  source: { height: number; width: number };
  /** [frames] indices of the sampled frames among the source's frames. */
  frameIndices: Int32Array;
}

/** Audio preprocessed for the Qwen2.5-Omni (Whisper-style) audio tower. */
export interface AudioInput {
  /** [numMel][frames] f32 log-mel features (WhisperFeatureExtractor layout). */
  features: Float32Array;
  numMel: number;
  frames: number;
  /** Valid feature frames (before any padding). */
  validFrames: number;
  /** Duration in seconds of the audio read (after resampling to sampleRate). */
  seconds: number;
  sampleRate: number;
}
