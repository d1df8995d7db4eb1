/**
 * What a multimodal folder holds beside its weights, for folders kvprism writes itself
 * (`kvprism init-model` presets): the family's special tokens, the published chat template and
 * a preprocessor_config.json with the published processors' keys, so a tiny random Qwen2-VL /
 * Qwen2.5-VL / Qwen2.5-Omni folder reads media and renders prompts as the real one does.
 */
import { familyFromConfig, type Family } from './family.js';
import { OMNI_TEMPLATE, QWEN2_VL_TEMPLATE } from './published-templates.js';

export interface MultimodalFolderFiles {
  /** Special tokens the template and the media placeholders use, in the order ids are handed out. */
  specialTokens: string[];
  /** chat_template.json body. */
  chatTemplate: { chat_template: string };
  /** preprocessor_config.json body. */
  preprocessor: Record<string, unknown>;
}

const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD = [0.26862954, 0.26130258, 0.27577711];

/** Null when the config is not a multimodal family (a text-only folder needs none of these). */
export function multimodalFolderFiles(config: Record<string, unknown>): MultimodalFolderFiles | null {
  let family: Family;
  try {
    family = familyFromConfig(config);
  } catch {
    return null;
  }
  const t = family.tokens;
  const markers = [t.visionStart, t.visionEnd, t.image, t.video, ...(t.audio ? [t.audio, t.audioStart!, t.audioEnd!] : [])];
  const vision = visionConfig(config);
  const image = {
    image_processor_type: 'Qwen2VLImageProcessor',
    do_resize: true,
    resample: 3,
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: CLIP_MEAN,
    image_std: CLIP_STD,
    min_pixels: 56 * 56,
    max_pixels: 28 * 28 * 1280,
    patch_size: vision.patch_size ?? 14,
    temporal_patch_size: vision.temporal_patch_size ?? 2,
    merge_size: family.mergeSize,
  };
  // WhisperFeatureExtractor as Qwen2.5-Omni configures it (128 mel bins, 300 s chunk).
  const audio = {
    feature_extractor_type: 'WhisperFeatureExtractor',
    feature_size: 128,
    sampling_rate: 16000,
    hop_length: 160,
    n_fft: 400,
    chunk_length: 300,
    padding_value: 0,
    dither: 0,
  };
  const omni = family.name === 'qwen2.5-omni';
  return {
    specialTokens: ['<|im_start|>', '<|im_end|>', ...markers],
    chatTemplate: { chat_template: omni ? OMNI_TEMPLATE : QWEN2_VL_TEMPLATE },
    preprocessor: omni ? { processor_class: 'Qwen2_5OmniProcessor', ...image, ...audio } : image,
  };
}

function visionConfig(config: Record<string, unknown>): { patch_size?: number; temporal_patch_size?: number } {
  const thinker = config.thinker_config as Record<string, unknown> | undefined;
  return ((thinker ?? config).vision_config ?? {}) as { patch_size?: number; temporal_patch_size?: number };
}
