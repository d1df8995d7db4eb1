/**
 * A model folder's preprocessor_config.json (and video_preprocessor_config.json when present)
 * → the settings the media readers apply. Keys and defaults are HF's: Qwen2VLImageProcessor
 * (image), Qwen2VLVideoProcessor / qwen-vl-utils (video) and WhisperFeatureExtractor (audio).
 * Unknown keys are ignored (processor configs carry many); a known key with a bad value is a
 * ConfigError naming the file, the key, the value and the expected form.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../../util/config-error.js';
import { DEFAULT_FRAME_SAMPLING, type FrameSampling } from './frame-sampling.js';
import type { PatchLayout, PixelNormalization } from './patchify.js';

export const PREPROCESSOR_CONFIG = 'preprocessor_config.json';
export const VIDEO_PREPROCESSOR_CONFIG = 'video_preprocessor_config.json';

const OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
const OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711];
/** qwen-vl-utils' VIDEO_TOTAL_PIXELS default (128000 · 28² · 0.9): the pixel budget of a whole clip. */
const VIDEO_TOTAL_PIXELS = 90_316_800;

export interface VisionPreprocessing {
  patch: PatchLayout;
  norm: PixelNormalization;
  doResize: boolean;
  /** Bounds of height × width after smart resize, in pixels. */
  minPixels: number;
  maxPixels: number;
}

export interface VideoPreprocessing extends VisionPreprocessing {
  sampling: FrameSampling;
  /** Pixel budget of a whole clip (qwen-vl-utils rule only). */
  totalPixels: number;
}

export interface AudioPreprocessing {
  /** Mel bins (feature_size). */
  numMel: number;
  sampleRate: number;
  hopLength: number;
  nFft: number;
  /** Audio is zero-padded (and truncated) to chunk_length seconds before the STFT, as HF does. */
  maxSamples: number;
}

export interface MediaPreprocessing {
  image: VisionPreprocessing;
  video: VideoPreprocessing;
  /** Null when the folder has no audio feature extractor. */
  audio: AudioPreprocessing | null;
}

const posInt = z.number().int().positive();
const rgb = z.union([z.number(), z.array(z.number()).length(3)]);
const positiveRgb = z.union([z.number().positive(), z.array(z.number().positive()).length(3)]);
const sizeSchema = z
  .object({ shortest_edge: posInt.nullish(), longest_edge: posInt.nullish(), min_pixels: posInt.nullish(), max_pixels: posInt.nullish() })
  .nullish()
  .describe('{"shortest_edge": min pixels, "longest_edge": max pixels} or {"min_pixels", "max_pixels"}');

const visionSchema = z.object({
  do_resize: z.boolean().nullish(),
  resample: z.literal(3).nullish().describe('3 (bicubic; the only filter kvprism reproduces)'),
  do_rescale: z.boolean().nullish(),
  rescale_factor: z.number().positive().nullish(),
  do_normalize: z.boolean().nullish(),
  image_mean: rgb.nullish().describe('a number or 3 numbers (RGB)'),
  image_std: positiveRgb.nullish().describe('a positive number or 3 positive numbers (RGB)'),
  min_pixels: posInt.nullish(),
  max_pixels: posInt.nullish(),
  size: sizeSchema,
  patch_size: posInt.nullish(),
  temporal_patch_size: posInt.nullish(),
  merge_size: posInt.nullish(),
});

const videoSchema = visionSchema.extend({
  fps: z.number().positive().nullish(),
  min_frames: posInt.nullish(),
  max_frames: posInt.nullish(),
  num_frames: posInt.nullish(),
});

const audioSchema = z.object({
  feature_extractor_type: z.string().nullish(),
  feature_size: posInt.nullish(),
  sampling_rate: posInt.nullish(),
  hop_length: posInt.nullish(),
  n_fft: posInt.nullish(),
  chunk_length: posInt.nullish().describe('seconds the audio is padded or truncated to'),
  dither: z.literal(0).nullish().describe('0 (random dithering is not reproduced)'),
  padding_value: z.literal(0).nullish().describe('0'),
});

/** Reads `folder`/preprocessor_config.json (required) and video_preprocessor_config.json (optional). */
export function loadPreprocessorConfig(folder: string): MediaPreprocessing {
  const file = join(folder, PREPROCESSOR_CONFIG);
  if (!existsSync(file)) throw new ConfigError(file, ['file not found; expected the model folder\'s preprocessor_config.json']);
  const videoFile = join(folder, VIDEO_PREPROCESSOR_CONFIG);
  const video = existsSync(videoFile) ? { file: videoFile, json: readJson(videoFile) } : undefined;
  return parsePreprocessorConfig(readJson(file), file, video);
}

/** One file holds both processors' keys (Omni): checked together so that every bad key is reported at once. */
const folderSchema = visionSchema.extend(audioSchema.shape);

/** The same from already-read JSON (`file` names the source in errors). */
export function parsePreprocessorConfig(json: unknown, file: string, video?: { json: unknown; file: string }): MediaPreprocessing {
  const c = check(folderSchema, json, file);
  const hasAudio = c.feature_extractor_type != null || c.feature_size != null;
  return {
    image: visionSettings(c, undefined, 56 * 56, 28 * 28 * 1280),
    video: videoSettings(c, video ? { ...check(videoSchema, video.json, video.file), file: video.file } : undefined),
    audio: hasAudio ? audioSettings(c) : null,
  };
}

type VisionJson = z.infer<typeof visionSchema>;
type VideoJson = z.infer<typeof videoSchema>;

function visionSettings(v: VisionJson, base: VisionPreprocessing | undefined, minDefault: number, maxDefault: number): VisionPreprocessing {
  const patch: PatchLayout = {
    patchSize: v.patch_size ?? base?.patch.patchSize ?? 14,
    temporalPatchSize: v.temporal_patch_size ?? base?.patch.temporalPatchSize ?? 2,
    mergeSize: v.merge_size ?? base?.patch.mergeSize ?? 2,
  };
  const norm: PixelNormalization = {
    doRescale: v.do_rescale ?? base?.norm.doRescale ?? true,
    rescaleFactor: v.rescale_factor ?? base?.norm.rescaleFactor ?? 1 / 255,
    doNormalize: v.do_normalize ?? base?.norm.doNormalize ?? true,
    imageMean: perChannel(v.image_mean) ?? base?.norm.imageMean ?? OPENAI_CLIP_MEAN,
    imageStd: perChannel(v.image_std) ?? base?.norm.imageStd ?? OPENAI_CLIP_STD,
  };
  const minPixels = v.min_pixels ?? v.size?.shortest_edge ?? v.size?.min_pixels ?? minDefault;
  const maxPixels = v.max_pixels ?? v.size?.longest_edge ?? v.size?.max_pixels ?? maxDefault;
  return { patch, norm, doResize: v.do_resize ?? base?.doResize ?? true, minPixels, maxPixels };
}

/**
 * Video settings: from video_preprocessor_config.json when the folder has one; otherwise the
 * image's patch layout and normalisation with qwen-vl-utils' video pixel bounds
 * (128 and 768 merged patches: 128·28² and 768·28² for patch 14, merge 2). `do_sample_frames`
 * is not read: frames read from a file are always sampled (Omni's file says false because
 * qwen-omni-utils samples before the processor, with the rule used here by default).
 */
function videoSettings(image: VisionJson, video: (VideoJson & { file: string }) | undefined): VideoPreprocessing {
  const base = visionSettings(image, undefined, 56 * 56, 28 * 28 * 1280);
  const unit = (base.patch.patchSize * base.patch.mergeSize) ** 2;
  const vision = visionSettings(video ?? {}, base, 128 * unit, 768 * unit);
  if (vision.minPixels > vision.maxPixels) {
    throw new ConfigError(video?.file ?? 'video settings', [`min_pixels ${vision.minPixels} exceeds max_pixels ${vision.maxPixels}`]);
  }
  const sampling: FrameSampling = {
    ...DEFAULT_FRAME_SAMPLING,
    fps: video?.fps ?? DEFAULT_FRAME_SAMPLING.fps,
    minFrames: video?.min_frames ?? DEFAULT_FRAME_SAMPLING.minFrames,
    maxFrames: video?.max_frames ?? DEFAULT_FRAME_SAMPLING.maxFrames,
    ...(video?.num_frames != null ? { nframes: video.num_frames } : {}),
  };
  return { ...vision, sampling, totalPixels: VIDEO_TOTAL_PIXELS };
}

function audioSettings(a: z.infer<typeof audioSchema>): AudioPreprocessing {
  const sampleRate = a.sampling_rate ?? 16000;
  // HF derives n_samples from chunk_length (a stored n_samples is overwritten in __init__).
  return { numMel: a.feature_size ?? 80, sampleRate, hopLength: a.hop_length ?? 160, nFft: a.n_fft ?? 400, maxSamples: (a.chunk_length ?? 30) * sampleRate };
}

function perChannel(x: number | number[] | null | undefined): number[] | undefined {
  if (x == null) return undefined;
  return typeof x === 'number' ? [x, x, x] : x;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(file, [`cannot read as JSON (${(e as Error).message})`]);
  }
}

function check<S extends z.ZodType>(schema: S, json: unknown, file: string): z.infer<S> {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new ConfigError(file, ['expected a JSON object at the top level']);
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    file,
    parsed.error.issues.map((i) => {
      const key = i.path.join('.') || '(top level)';
      const got = JSON.stringify(valueAt(json, i.path));
      const expected = describeKey(schema, i.path);
      return `${key}: ${i.message}; got ${got}${expected ? ` — expected ${expected}` : ''}`;
    }),
  );
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur = root;
  for (const p of path) cur = cur !== null && typeof cur === 'object' ? (cur as Record<PropertyKey, unknown>)[p] : undefined;
  return cur;
}

/** The description attached to a top-level key's schema, when it has one. */
function describeKey(schema: z.ZodType, path: readonly PropertyKey[]): string | undefined {
  const shape = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape;
  const top = path[0];
  return typeof top === 'string' ? shape?.[top]?.description : undefined;
}
