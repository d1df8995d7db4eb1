/**
 * transformers.js (@huggingface/transformers) processors, the maintained reference our media
 * preprocessing is checked against. Built from config objects: nothing is downloaded.
 */
import { env, Qwen2VLImageProcessor, RawImage, WhisperFeatureExtractor } from '@huggingface/transformers';
import type { AudioPreprocessing, VisionPreprocessing } from '../../../src/model/media/preprocessor-config.js';

env.allowRemoteModels = false;

/** Runs transformers.js' Qwen2VLImageProcessor on RGB frames ([h][w][3] u8 each); several frames form one clip. */
export async function hfQwen2VLPatches(frames: Uint8Array[], width: number, height: number, s: VisionPreprocessing): Promise<{ pixelValues: Float32Array; grid: number[] }> {
  const processor = new Qwen2VLImageProcessor({
    do_resize: s.doResize,
    resample: 3,
    do_rescale: s.norm.doRescale,
    rescale_factor: s.norm.rescaleFactor,
    do_normalize: s.norm.doNormalize,
    image_mean: [...s.norm.imageMean],
    image_std: [...s.norm.imageStd],
    min_pixels: s.minPixels,
    max_pixels: s.maxPixels,
    patch_size: s.patch.patchSize,
    temporal_patch_size: s.patch.temporalPatchSize,
    merge_size: s.patch.mergeSize,
  } as never);
  const images = frames.map((f) => new RawImage(new Uint8ClampedArray(f), width, height, 3));
  const out = (await processor(images)) as { pixel_values: { data: Float32Array }; image_grid_thw: { data: BigInt64Array } };
  return { pixelValues: out.pixel_values.data, grid: Array.from(out.image_grid_thw.data, Number) };
}

/** transformers.js WhisperFeatureExtractor: [numMel][maxSamples / hop] features of `pcm` padded to maxSamples. */
export async function hfWhisperFeatures(pcm: Float32Array, s: AudioPreprocessing): Promise<Float32Array> {
  const fe = new WhisperFeatureExtractor({
    feature_size: s.numMel,
    sampling_rate: s.sampleRate,
    hop_length: s.hopLength,
    n_fft: s.nFft,
    chunk_length: s.maxSamples / s.sampleRate,
    n_samples: s.maxSamples,
    nb_max_frames: s.maxSamples / s.hopLength,
    padding_value: 0,
  } as never);
  const out = (await fe(pcm)) as { input_features: { data: Float32Array } };
  return out.input_features.data;
}

/** Largest absolute difference and mean absolute difference of two equal-length arrays. */
export function compare(a: ArrayLike<number>, b: ArrayLike<number>): { max: number; mean: number } {
  if (a.length !== b.length) throw new Error(`compare: lengths ${a.length} and ${b.length} differ`);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    sum += d;
    if (d > max) max = d;
  }
  return { max, mean: sum / a.length };
}
