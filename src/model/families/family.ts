/**
 * What differs per multimodal family: the media placeholder tokens its chat template writes,
 * the vision merge size, and how temporal position ids follow time. Read from the folder's
 * config.json with the defaults of the transformers config classes where a key is absent.
 *
 * | family        | model_type   | vision span                                   | audio span                     |
 * |---------------|--------------|-----------------------------------------------|--------------------------------|
 * | Qwen2-VL      | qwen2_vl     | `<|vision_start|><|video_pad|>…<|vision_end|>` | —                              |
 * | Qwen2.5-VL    | qwen2_5_vl   | same as Qwen2-VL                               | —                              |
 * | Qwen2.5-Omni  | qwen2_5_omni | `<|vision_bos|><|VIDEO|>…<|vision_eos|>`       | `<|audio_bos|><|AUDIO|>…<|audio_eos|>` |
 * (images: `<|image_pad|>` / `<|IMAGE|>` between the same vision markers.)
 */
import { z } from 'zod';
import { readConfigJson } from '../config.js';

export type FamilyName = 'qwen2-vl' | 'qwen2.5-vl' | 'qwen2.5-omni';

export interface FamilyTokens {
  visionStart: string;
  visionEnd: string;
  image: string;
  video: string;
  /** Omni only. */
  audio?: string;
  audioStart?: string;
  audioEnd?: string;
}

/**
 * Which transformers get_rope_index the Qwen2-VL / 2.5-VL ids follow. 'transformers-4' (the
 * v4.x code, as Qwen's own and vLLM's): t = ⌊k × second_per_grid × tokens_per_second⌋, text
 * after a span at 1 + its largest id. 'transformers-5' (the v5 mm_token_type_ids rewrite):
 * t = k × tokens_per_second × int(second_per_grid), text after a span at its start +
 * max(rows, cols). They agree on images; for videos they differ. Omni is the same in both.
 */
export type RopeIndexRules = 'transformers-4' | 'transformers-5';

export interface Family {
  name: FamilyName;
  ropeIndexRules: RopeIndexRules;
  tokens: FamilyTokens;
  /** Vision patches merged per side into one LLM token (`spatial_merge_size`). */
  mergeSize: number;
  /**
   * Temporal position ids per second of video: Qwen2.5-VL `vision_config.tokens_per_second`,
   * Omni `position_id_per_seconds`; null for Qwen2-VL (its t id is the frame index).
   */
  positionsPerSecond: number | null;
  /** Omni `seconds_per_chunk`: audio-in-video interleaves chunks this long; null elsewhere. */
  secondsPerChunk: number | null;
}

const QWEN_VL_TOKENS: FamilyTokens = { visionStart: '<|vision_start|>', visionEnd: '<|vision_end|>', image: '<|image_pad|>', video: '<|video_pad|>' };
const OMNI_TOKENS: FamilyTokens = {
  visionStart: '<|vision_bos|>',
  visionEnd: '<|vision_eos|>',
  image: '<|IMAGE|>',
  video: '<|VIDEO|>',
  audio: '<|AUDIO|>',
  audioStart: '<|audio_bos|>',
  audioEnd: '<|audio_eos|>',
};

const positive = z.number().positive();
const visionSchema = z.object({ spatial_merge_size: z.number().int().positive().default(2), tokens_per_second: positive.optional() }).default({ spatial_merge_size: 2 });
const vlSchema = z.object({ vision_config: visionSchema });
const omniSchema = z.object({
  thinker_config: z
    .object({ vision_config: visionSchema, position_id_per_seconds: positive.default(25), seconds_per_chunk: positive.default(2) })
    .default({ vision_config: { spatial_merge_size: 2 }, position_id_per_seconds: 25, seconds_per_chunk: 2 }),
});

/** The family of a parsed config.json; `file` names it in errors. */
export function familyFromConfig(raw: Record<string, unknown>, file = 'config.json', ropeIndexRules: RopeIndexRules = 'transformers-4'): Family {
  const type = String(raw.model_type ?? '(missing)');
  const parse = <T>(schema: z.ZodType<T>): T => {
    const r = schema.safeParse(raw);
    if (!r.success) throw new Error(`${file}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    return r.data;
  };
  switch (type) {
    case 'qwen2_vl': {
      const c = parse(vlSchema);
      return { name: 'qwen2-vl', ropeIndexRules, tokens: QWEN_VL_TOKENS, mergeSize: c.vision_config.spatial_merge_size, positionsPerSecond: null, secondsPerChunk: null };
    }
    case 'qwen2_5_vl': {
      const c = parse(vlSchema);
      // Qwen2_5_VLVisionConfig's default tokens_per_second is 4 (published checkpoints say 2).
      return { name: 'qwen2.5-vl', ropeIndexRules, tokens: QWEN_VL_TOKENS, mergeSize: c.vision_config.spatial_merge_size, positionsPerSecond: c.vision_config.tokens_per_second ?? 4, secondsPerChunk: null };
    }
    case 'qwen2_5_omni': {
      const t = parse(omniSchema).thinker_config;
      return { name: 'qwen2.5-omni', ropeIndexRules, tokens: OMNI_TOKENS, mergeSize: t.vision_config.spatial_merge_size, positionsPerSecond: t.position_id_per_seconds, secondsPerChunk: t.seconds_per_chunk };
    }
    default:
      throw new Error(`${file}: model_type "${type}" has no multimodal family; expected qwen2_vl, qwen2_5_vl or qwen2_5_omni`);
  }
}

/** Reads `dir/config.json` and returns its family. */
export function loadFamily(dir: string, ropeIndexRules: RopeIndexRules = 'transformers-4'): Family {
  const { raw, file } = readConfigJson(dir);
  return familyFromConfig(raw, file, ropeIndexRules);
}
