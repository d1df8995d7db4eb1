/**
 * The towers' config.json blocks → validated tower configs. Vision: `vision_config` of
 * Qwen2-VL (embed_dim, mlp_ratio, quick_gelu MLP, LayerNorm, merger out = hidden_size) and of
 * Qwen2.5-VL / Qwen2.5-Omni (hidden_size, intermediate_size, out_hidden_size, SiLU-gated MLP,
 * RMSNorm, window attention with full-attention blocks at fullatt_block_indexes). Audio:
 * Omni's `thinker_config.audio_config` (Whisper-style encoder). Field meanings follow
 * transformers' Qwen2VLVisionConfig, Qwen2_5_VLVisionConfig, Qwen2_5OmniVisionEncoderConfig
 * and Qwen2_5OmniAudioEncoderConfig.
 */
import { z } from 'zod';

export type VisionVariant = 'qwen2_vl' | 'qwen2_5_vl' | 'qwen2_5_omni';

export interface VisionTowerConfig {
  variant: VisionVariant;
  depth: number;
  /** Width of the transformer blocks (Qwen2-VL embed_dim; 2.5 hidden_size). */
  hiddenSize: number;
  numHeads: number;
  headDim: number;
  intermediateSize: number;
  /** Width of the merged tokens handed to the LLM. */
  outHiddenSize: number;
  inChannels: number;
  patchSize: number;
  temporalPatchSize: number;
  spatialMergeSize: number;
  /** Qwen2-VL: LayerNorm with bias; 2.5: RMSNorm. eps 1e-6 in both (hard-coded in transformers). */
  norm: 'layernorm' | 'rmsnorm';
  /** Qwen2-VL: fc2(quick_gelu(fc1 x)); 2.5: down(silu(gate x) · up x). */
  mlp: 'quick_gelu' | 'gated_silu';
  /** Window attention side in pixels (2.5 only; null = every block attends per frame). */
  windowSize: number | null;
  /** Blocks that attend over the whole frame instead of windows (2.5 only). */
  fullAttBlocks: number[];
  /** Fields the positions layer reads (kept as given; absent = undefined). */
  tokensPerSecond?: number;
}

export interface AudioTowerConfig {
  numMelBins: number;
  dModel: number;
  layers: number;
  heads: number;
  headDim: number;
  ffnDim: number;
  /** Attention chunks are 2·nWindow mel frames (before the stride-2 conv). */
  nWindow: number;
  outputDim: number;
  maxSourcePositions: number;
}

export interface TowerConfigs {
  vision?: VisionTowerConfig;
  audio?: AudioTowerConfig;
}

const posInt = z.number().int().positive();

const qwen2VlVision = z.object({
  depth: posInt,
  embed_dim: posInt,
  hidden_size: posInt,
  num_heads: posInt,
  mlp_ratio: z.number().positive().default(4),
  hidden_act: z.literal('quick_gelu').default('quick_gelu'),
  in_channels: posInt.optional(),
  in_chans: posInt.optional(),
  patch_size: posInt.default(14),
  temporal_patch_size: posInt.default(2),
  spatial_merge_size: posInt.default(2),
  tokens_per_second: z.number().positive().optional(),
});

const qwen25Vision = z.object({
  depth: posInt,
  hidden_size: posInt,
  intermediate_size: posInt,
  out_hidden_size: posInt,
  num_heads: posInt,
  hidden_act: z.literal('silu').default('silu'),
  in_channels: posInt.optional(),
  in_chans: posInt.optional(),
  patch_size: posInt.default(14),
  temporal_patch_size: posInt.default(2),
  spatial_merge_size: posInt.default(2),
  window_size: posInt.default(112),
  fullatt_block_indexes: z.array(z.number().int().nonnegative()).default([7, 15, 23, 31]),
  tokens_per_second: z.number().positive().optional(),
});

const omniAudio = z.object({
  num_mel_bins: posInt.default(128),
  d_model: posInt,
  encoder_layers: posInt,
  encoder_attention_heads: posInt,
  encoder_ffn_dim: posInt,
  n_window: posInt.default(100),
  output_dim: posInt,
  max_source_positions: posInt.default(1500),
  activation_function: z.literal('gelu').default('gelu'),
});

function parseWith<T extends z.ZodTypeAny>(schema: T, raw: unknown, file: string, at: string): z.infer<T> {
  const r = schema.safeParse(raw);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${[at, ...i.path].join('.')}: ${i.message}`).join('; ');
    throw new Error(`${file}: ${msg}`);
  }
  return r.data;
}

function headDimOf(width: number, heads: number, file: string, at: string): number {
  const d = width / heads;
  if (!Number.isInteger(d) || d % 4 !== 0) {
    throw new Error(`${file}: ${at}: width ${width} / num_heads ${heads} must be a whole multiple of 4 (the 2-D rotary splits each head in four)`);
  }
  return d;
}

/** A tower block is present when it names its depth/layers (HF configs always do). */
function hasTower(block: unknown, key: string): block is Record<string, unknown> {
  return typeof block === 'object' && block !== null && key in block;
}

export function parseVisionConfig(block: unknown, variant: VisionVariant, file: string, at: string): VisionTowerConfig {
  if (variant === 'qwen2_vl') {
    const c = parseWith(qwen2VlVision, block, file, at);
    const inter = Math.floor(c.embed_dim * c.mlp_ratio); // int() in transformers
    return {
      variant, depth: c.depth, hiddenSize: c.embed_dim, numHeads: c.num_heads, headDim: headDimOf(c.embed_dim, c.num_heads, file, at),
      intermediateSize: inter, outHiddenSize: c.hidden_size, inChannels: c.in_channels ?? c.in_chans ?? 3, patchSize: c.patch_size,
      temporalPatchSize: c.temporal_patch_size, spatialMergeSize: c.spatial_merge_size, norm: 'layernorm', mlp: 'quick_gelu',
      windowSize: null, fullAttBlocks: [], tokensPerSecond: c.tokens_per_second,
    };
  }
  const c = parseWith(qwen25Vision, block, file, at);
  const bad = c.fullatt_block_indexes.find((i) => i >= c.depth);
  if (bad !== undefined) throw new Error(`${file}: ${at}.fullatt_block_indexes: block ${bad} is past depth ${c.depth}`);
  const mergedWindow = c.window_size / c.spatial_merge_size / c.patch_size;
  if (!Number.isInteger(mergedWindow) || mergedWindow < 1) {
    throw new Error(`${file}: ${at}.window_size ${c.window_size} must be a whole multiple of spatial_merge_size × patch_size = ${c.spatial_merge_size * c.patch_size}`);
  }
  return {
    variant, depth: c.depth, hiddenSize: c.hidden_size, numHeads: c.num_heads, headDim: headDimOf(c.hidden_size, c.num_heads, file, at),
    intermediateSize: c.intermediate_size, outHiddenSize: c.out_hidden_size, inChannels: c.in_channels ?? c.in_chans ?? 3,
    patchSize: c.patch_size, temporalPatchSize: c.temporal_patch_size, spatialMergeSize: c.spatial_merge_size, norm: 'rmsnorm',
    mlp: 'gated_silu', windowSize: c.window_size, fullAttBlocks: [...c.fullatt_block_indexes], tokensPerSecond: c.tokens_per_second,
  };
}

export function parseAudioConfig(block: unknown, file: string, at: string): AudioTowerConfig {
  const c = parseWith(omniAudio, block, file, at);
  const headDim = c.d_model / c.encoder_attention_heads;
  if (!Number.isInteger(headDim)) throw new Error(`${file}: ${at}: d_model ${c.d_model} is not divisible by encoder_attention_heads ${c.encoder_attention_heads}`);
  if (c.d_model % 2 !== 0) throw new Error(`${file}: ${at}.d_model ${c.d_model} must be even (sinusoidal positions)`);
  if (c.n_window > c.max_source_positions) throw new Error(`${file}: ${at}.n_window ${c.n_window} exceeds max_source_positions ${c.max_source_positions}`);
  return {
    numMelBins: c.num_mel_bins, dModel: c.d_model, layers: c.encoder_layers, heads: c.encoder_attention_heads, headDim,
    ffnDim: c.encoder_ffn_dim, nWindow: c.n_window, outputDim: c.output_dim, maxSourcePositions: c.max_source_positions,
  };
}

/** The towers a config.json declares, by model_type; `file` names config.json in errors. */
export function parseTowerConfigs(raw: Record<string, unknown>, file: string): TowerConfigs {
  const type = raw.model_type;
  if (type === 'qwen2_vl' || type === 'qwen2_5_vl') {
    return hasTower(raw.vision_config, 'depth') ? { vision: parseVisionConfig(raw.vision_config, type, file, 'vision_config') } : {};
  }
  if (type === 'qwen2_5_omni') {
    const thinker = (raw.thinker_config ?? {}) as Record<string, unknown>;
    const out: TowerConfigs = {};
    if (hasTower(thinker.vision_config, 'depth')) out.vision = parseVisionConfig(thinker.vision_config, 'qwen2_5_omni', file, 'thinker_config.vision_config');
    if (hasTower(thinker.audio_config, 'encoder_layers')) out.audio = parseAudioConfig(thinker.audio_config, file, 'thinker_config.audio_config');
    return out;
  }
  return {};
}
