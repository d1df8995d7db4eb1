/** Media in: video, image and audio files → the inputs of the Qwen2-VL / Qwen2.5-Omni towers. */
export type { VisualInput, AudioInput } from './types.js';
export { MediaError } from './media-error.js';
export { ffmpegPath } from './ffmpeg.js';
export { probeMedia, countVideoFrames, type MediaInfo, type VideoStreamInfo, type AudioStreamInfo } from './probe.js';
export { sampleFrames, DEFAULT_FRAME_SAMPLING, type FrameSampling, type SamplingRule, type SampledFrames } from './frame-sampling.js';
export { smartResize } from './smart-resize.js';
export { resizeBicubicRgb } from './resize-bicubic.js';
export { patchify, type PatchLayout, type PixelNormalization } from './patchify.js';
export { readVideo, readImage, type VideoReadOptions } from './read-video.js';
export { readPcm, readAudio, audioFeatures, type AudioReadOptions } from './read-audio.js';
export { whisperLogMel } from './log-mel.js';
export {
  loadPreprocessorConfig,
  parsePreprocessorConfig,
  type MediaPreprocessing,
  type VisionPreprocessing,
  type VideoPreprocessing,
  type AudioPreprocessing,
} from './preprocessor-config.js';
