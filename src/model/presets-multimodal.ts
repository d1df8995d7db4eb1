/**
 * `kvprism init-model` presets of the vision-language and audio-video families: each is the
 * config.json it writes, with every tower (Qwen2-VL / Qwen2.5-VL vision transformer, Omni's
 * vision and audio encoders) so a random folder has the real tensor names and shapes.
 *
 * Real shapes are those of the published Hugging Face config.json files of
 * Qwen/Qwen2.5-VL-7B-Instruct, Qwen/Qwen2.5-Omni-7B and Qwen/Qwen2.5-Omni-3B (thinker only;
 * talker and token2wav are not written: `enable_audio_output: false`), cross-checked against
 * the defaults of transformers' Qwen2_5_VLVisionConfig, Qwen2_5OmniVisionEncoderConfig and
 * Qwen2_5OmniAudioEncoderConfig. Tiny presets keep the real patch (14), temporal patch (2) and
 * merge (2) sizes and 128 mel bins, so real media preprocessing feeds them unchanged, and
 * use odd widths and a 2×2-token window so window padding is exercised.
 */

/** Text backbone shared by the tiny multimodal presets (Qwen2 with sectioned mrope). */
const TINY_TEXT = {
  vocab_size: 300,
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 1,
  max_position_embeddings: 256,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  rope_scaling: { type: 'mrope', mrope_section: [2, 1, 1] },
  hidden_act: 'silu',
  tie_word_embeddings: true,
  use_sliding_window: false,
  bos_token_id: 257,
  eos_token_id: 258,
} as const;

/** Qwen2.5-VL / Omni vision tower at published shape (out_hidden_size set per model). */
const VISION_25 = {
  depth: 32,
  hidden_act: 'silu',
  hidden_size: 1280,
  intermediate_size: 3420,
  num_heads: 16,
  in_channels: 3,
  patch_size: 14,
  spatial_merge_size: 2,
  temporal_patch_size: 2,
  window_size: 112,
  fullatt_block_indexes: [7, 15, 23, 31],
} as const;

/** Omni audio encoder at published shape (output_dim set per model). */
const AUDIO_OMNI = {
  model_type: 'qwen2_5_omni_audio_encoder',
  num_mel_bins: 128,
  d_model: 1280,
  encoder_layers: 32,
  encoder_attention_heads: 20,
  encoder_ffn_dim: 5120,
  n_window: 100,
  max_source_positions: 1500,
  activation_function: 'gelu',
  scale_embedding: false,
} as const;

/** Special token ids of the published Qwen2.5-Omni thinker config. */
const OMNI_TOKENS = {
  audio_token_index: 151646,
  image_token_index: 151655,
  video_token_index: 151656,
  vision_start_token_id: 151652,
  vision_end_token_id: 151653,
  audio_start_token_id: 151647,
  audio_end_token_id: 151648,
  position_id_per_seconds: 25,
  seconds_per_chunk: 2,
} as const;

function omniThinker(text: Record<string, unknown>, outDim: number): Record<string, unknown> {
  return {
    architectures: ['Qwen2_5OmniModel'],
    model_type: 'qwen2_5_omni',
    enable_audio_output: false,
    thinker_config: {
      model_type: 'qwen2_5_omni_thinker',
      ...OMNI_TOKENS,
      text_config: { model_type: 'qwen2_5_omni_text', ...text },
      vision_config: { model_type: 'qwen2_5_omni_vision_encoder', ...VISION_25, out_hidden_size: outDim, tokens_per_second: 25 },
      audio_config: { ...AUDIO_OMNI, output_dim: outDim },
    },
  };
}

const OMNI_TEXT = {
  max_position_embeddings: 32768,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000,
  rope_scaling: { type: 'mrope', mrope_section: [16, 24, 24] },
  hidden_act: 'silu',
  use_sliding_window: false,
  bos_token_id: 151643,
  eos_token_id: 151645,
} as const;

export const MULTIMODAL_PRESETS = {
  /** Tiny Qwen2-VL for tests: q/k/v biases, sectioned mrope [2, 1, 1], LayerNorm / quick_gelu vision tower. */
  'tiny-qwen2-vl': {
    architectures: ['Qwen2VLForConditionalGeneration'],
    model_type: 'qwen2_vl',
    ...TINY_TEXT,
    vision_config: {
      depth: 2, embed_dim: 16, hidden_size: 32, num_heads: 2, mlp_ratio: 1.5, hidden_act: 'quick_gelu',
      in_channels: 3, patch_size: 14, spatial_merge_size: 2, temporal_patch_size: 2, tokens_per_second: 2,
    },
  },
  /** Tiny Qwen2.5-VL for tests: RMSNorm / SiLU-gated vision tower, 2×2-token windows, one full-attention block. */
  'tiny-qwen2.5-vl': {
    architectures: ['Qwen2_5_VLForConditionalGeneration'],
    model_type: 'qwen2_5_vl',
    ...TINY_TEXT,
    vision_config: {
      depth: 3, hidden_size: 16, intermediate_size: 20, out_hidden_size: 32, num_heads: 2, hidden_act: 'silu',
      in_channels: 3, patch_size: 14, spatial_merge_size: 2, temporal_patch_size: 2, window_size: 56,
      fullatt_block_indexes: [1], tokens_per_second: 2,
    },
  },
  /** Tiny Qwen2.5-Omni thinker for tests: vision tower as tiny-qwen2.5-vl, audio encoder with 10-frame chunks. */
  'tiny-qwen2.5-omni': {
    architectures: ['Qwen2_5OmniModel'],
    model_type: 'qwen2_5_omni',
    enable_audio_output: false,
    thinker_config: {
      model_type: 'qwen2_5_omni_thinker',
      position_id_per_seconds: 25,
      seconds_per_chunk: 2,
      text_config: { model_type: 'qwen2_5_omni_text', ...TINY_TEXT },
      vision_config: {
        model_type: 'qwen2_5_omni_vision_encoder', depth: 2, hidden_size: 16, intermediate_size: 20, out_hidden_size: 32,
        num_heads: 2, hidden_act: 'silu', in_channels: 3, patch_size: 14, spatial_merge_size: 2, temporal_patch_size: 2,
        window_size: 56, fullatt_block_indexes: [1], tokens_per_second: 25,
      },
      audio_config: {
        model_type: 'qwen2_5_omni_audio_encoder', num_mel_bins: 128, d_model: 16, encoder_layers: 2, encoder_attention_heads: 2,
        encoder_ffn_dim: 24, n_window: 5, output_dim: 32, max_source_positions: 64, activation_function: 'gelu', scale_embedding: false,
      },
    },
  },
  /** Qwen/Qwen2.5-VL-7B-Instruct. */
  'qwen2.5-vl-7b': {
    architectures: ['Qwen2_5_VLForConditionalGeneration'],
    model_type: 'qwen2_5_vl',
    vocab_size: 152064,
    hidden_size: 3584,
    intermediate_size: 18944,
    num_hidden_layers: 28,
    num_attention_heads: 28,
    num_key_value_heads: 4,
    max_position_embeddings: 128000,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
    rope_scaling: { type: 'mrope', mrope_section: [16, 24, 24] },
    hidden_act: 'silu',
    tie_word_embeddings: false,
    use_sliding_window: false,
    bos_token_id: 151643,
    eos_token_id: 151645,
    vision_start_token_id: 151652,
    vision_end_token_id: 151653,
    image_token_id: 151655,
    video_token_id: 151656,
    vision_config: { ...VISION_25, out_hidden_size: 3584, tokens_per_second: 2 },
  },
  /** Qwen/Qwen2.5-Omni-7B thinker (text, vision and audio towers). */
  'qwen2.5-omni-7b-thinker': omniThinker(
    { ...OMNI_TEXT, vocab_size: 152064, hidden_size: 3584, intermediate_size: 18944, num_hidden_layers: 28, num_attention_heads: 28, num_key_value_heads: 4, tie_word_embeddings: false },
    3584,
  ),
  /** Qwen/Qwen2.5-Omni-3B thinker (text, vision and audio towers). */
  'qwen2.5-omni-3b-thinker': omniThinker(
    { ...OMNI_TEXT, vocab_size: 151936, hidden_size: 2048, intermediate_size: 11008, num_hidden_layers: 36, num_attention_heads: 16, num_key_value_heads: 2, tie_word_embeddings: false },
    2048,
  ),
} as const satisfies Record<string, Record<string, unknown>>;
