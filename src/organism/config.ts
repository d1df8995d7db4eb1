/**
 * Architecture of the AV model organism: a small Llama-style decoder (GQA, RoPE
 * rotate-half, SwiGLU, RMSNorm, untied LM head) with a 2-layer GELU projector per media
 * modality. `toHfConfig` writes the HF LlamaConfig the runtime loads; `fromHfConfig` reads it.
 */
export interface OrganismConfig {
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  ropeTheta: number;
  rmsEps: number;
  maxPositions: number;
  bosId: number;
  eosId: number;
  padId: number;
  /** Feature dims of the media projectors. */
  videoFeatureDim: number;
  audioFeatureDim: number;
}

export const DEFAULT_ARCH = { hidden: 128, intermediate: 384, layers: 4, heads: 4, kvHeads: 2, headDim: 32, ropeTheta: 10000, rmsEps: 1e-5, maxPositions: 8192 } as const;

export function checkConfig(c: OrganismConfig, where = 'organism config'): OrganismConfig {
  const positive = ['hidden', 'intermediate', 'layers', 'heads', 'kvHeads', 'headDim', 'vocab', 'videoFeatureDim', 'audioFeatureDim'] as const;
  for (const k of positive) {
    if (!Number.isInteger(c[k]) || c[k] <= 0) throw new RangeError(`${where}: ${k} must be a positive integer; got ${c[k]}`);
  }
  if (c.heads % c.kvHeads !== 0) throw new RangeError(`${where}: heads (${c.heads}) must be a multiple of kvHeads (${c.kvHeads})`);
  if (c.headDim % 2 !== 0) throw new RangeError(`${where}: headDim must be even for RoPE; got ${c.headDim}`);
  return c;
}

/** HF `config.json` (LlamaConfig keys + the kvprism projector block). */
export function toHfConfig(c: OrganismConfig): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: c.hidden,
    intermediate_size: c.intermediate,
    num_hidden_layers: c.layers,
    num_attention_heads: c.heads,
    num_key_value_heads: c.kvHeads,
    head_dim: c.headDim,
    hidden_act: 'silu',
    rms_norm_eps: c.rmsEps,
    rope_theta: c.ropeTheta,
    vocab_size: c.vocab,
    tie_word_embeddings: false,
    attention_bias: false,
    mlp_bias: false,
    bos_token_id: c.bosId,
    eos_token_id: c.eosId,
    pad_token_id: c.padId,
    max_position_embeddings: c.maxPositions,
    torch_dtype: 'float32',
    kvprism: {
      projectors: {
        video: { feature_dim: c.videoFeatureDim, activation: 'gelu_tanh' },
        audio: { feature_dim: c.audioFeatureDim, activation: 'gelu_tanh' },
      },
    },
  };
}

export function fromHfConfig(j: Record<string, any>, where = 'config.json'): OrganismConfig {
  const num = (k: string): number => {
    if (typeof j[k] !== 'number') throw new TypeError(`${where}: field "${k}" must be a number; got ${JSON.stringify(j[k])}`);
    return j[k];
  };
  const proj = j.kvprism?.projectors;
  if (!proj?.video?.feature_dim || !proj?.audio?.feature_dim) {
    throw new TypeError(`${where}: field "kvprism.projectors" must give video.feature_dim and audio.feature_dim`);
  }
  return checkConfig({
    hidden: num('hidden_size'), intermediate: num('intermediate_size'), layers: num('num_hidden_layers'),
    heads: num('num_attention_heads'), kvHeads: num('num_key_value_heads'),
    headDim: typeof j.head_dim === 'number' ? j.head_dim : num('hidden_size') / num('num_attention_heads'),
    vocab: num('vocab_size'), ropeTheta: num('rope_theta'), rmsEps: num('rms_norm_eps'),
    maxPositions: num('max_position_embeddings'), bosId: num('bos_token_id'), eosId: num('eos_token_id'),
    padId: typeof j.pad_token_id === 'number' ? j.pad_token_id : 0,
    videoFeatureDim: proj.video.feature_dim, audioFeatureDim: proj.audio.feature_dim,
  }, where);
}
