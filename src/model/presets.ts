import { MULTIMODAL_PRESETS } from './presets-multimodal.js';

/**
 * Published model shapes for `kvprism init-model` (random weights at these shapes for speed
 * and memory work), plus tiny shapes for tests. Each preset is the HF config.json it writes;
 * the vision-language and audio-video presets (with their towers) are in presets-multimodal.ts.
 */
export const PRESETS = {
  /** HuggingFaceTB/SmolLM2-135M. */
  'smollm2-135m': {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: 49152,
    hidden_size: 576,
    intermediate_size: 1536,
    num_hidden_layers: 30,
    num_attention_heads: 9,
    num_key_value_heads: 3,
    head_dim: 64,
    max_position_embeddings: 8192,
    rms_norm_eps: 1e-5,
    rope_theta: 100000,
    rope_scaling: null,
    hidden_act: 'silu',
    tie_word_embeddings: true,
    attention_bias: false,
    mlp_bias: false,
    bos_token_id: 0,
    eos_token_id: 0,
  },
  /** Qwen/Qwen2.5-0.5B. */
  'qwen2.5-0.5b': {
    architectures: ['Qwen2ForCausalLM'],
    model_type: 'qwen2',
    vocab_size: 151936,
    hidden_size: 896,
    intermediate_size: 4864,
    num_hidden_layers: 24,
    num_attention_heads: 14,
    num_key_value_heads: 2,
    max_position_embeddings: 32768,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
    hidden_act: 'silu',
    tie_word_embeddings: true,
    use_sliding_window: false,
    bos_token_id: 151643,
    eos_token_id: 151643,
  },
  /** Qwen/Qwen2-7B shapes; meant with --layers N (default 2) to study a slice of a 7B model. */
  'qwen2-7b-layers': {
    architectures: ['Qwen2ForCausalLM'],
    model_type: 'qwen2',
    vocab_size: 152064,
    hidden_size: 3584,
    intermediate_size: 18944,
    num_hidden_layers: 2,
    num_attention_heads: 28,
    num_key_value_heads: 4,
    max_position_embeddings: 32768,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
    hidden_act: 'silu',
    tie_word_embeddings: false,
    use_sliding_window: false,
    bos_token_id: 151643,
    eos_token_id: 151643,
  },
  /** Tiny Llama for tests (GQA 2, odd intermediate size). */
  'tiny-llama': {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: 300,
    hidden_size: 32,
    intermediate_size: 44,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 256,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    hidden_act: 'silu',
    tie_word_embeddings: false,
    bos_token_id: 257,
    eos_token_id: 258,
  },
  /** Tiny Qwen2 for tests: q/k/v biases, tied embeddings, one KV head. */
  'tiny-qwen2': {
    architectures: ['Qwen2ForCausalLM'],
    model_type: 'qwen2',
    vocab_size: 300,
    hidden_size: 48,
    intermediate_size: 40,
    num_hidden_layers: 2,
    num_attention_heads: 6,
    num_key_value_heads: 1,
    max_position_embeddings: 256,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
    hidden_act: 'silu',
    tie_word_embeddings: true,
    use_sliding_window: false,
    bos_token_id: 257,
    eos_token_id: 257,
  },
  ...MULTIMODAL_PRESETS,
} as const satisfies Record<string, Record<string, unknown>>;

export type PresetName = keyof typeof PRESETS;

export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

export function isPresetName(x: string): x is PresetName {
  return Object.hasOwn(PRESETS, x);
}
