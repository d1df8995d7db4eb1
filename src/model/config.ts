/**
 * HF config.json → the runtime's ModelConfig. Supported: Llama (incl. SmolLM), Qwen2 /
 * Qwen2.5, and the text backbones of Qwen2-VL, Qwen2.5-VL (text params at the top level or in
 * `text_config`) and Qwen2.5-Omni (`thinker_config.text_config`). Anything else is an error
 * naming model_type. The kvprism projector block (`"kvprism": {"projectors": {...}}`) is read here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { isModality, type Modality } from '../cache/modality.js';
import { parseRopeScaling, type RopeConfig } from './rope.js';
import { parseTowerConfigs, type TowerConfigs } from './towers/tower-config.js';

export type Family = 'llama' | 'qwen2';

/** Where the backbone's tensors live in the checkpoint (VL / Omni checkpoints nest them). */
export interface TensorLayout {
  /** Prefix of embed_tokens / layers / norm, e.g. "model." or "thinker.model.". */
  prefix: string;
  lmHead: string;
}

export interface ModelConfig {
  modelType: string;
  family: Family;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  qHeads: number;
  kvHeads: number;
  headDim: number;
  vocabSize: number;
  rmsNormEps: number;
  rope: RopeConfig;
  maxPositions: number;
  tieWordEmbeddings: boolean;
  /** q/k/v projections carry biases (Qwen2 always; Llama when attention_bias). */
  qkvBias: boolean;
  /** o_proj carries a bias (Llama attention_bias). */
  oBias: boolean;
  mlpBias: boolean;
  bosTokenId: number | null;
  eosTokenIds: number[];
  /** Feature projectors per modality (kvprism extension): feature dim F of linear_1 [hidden][F]. */
  projectors: Partial<Record<Modality, { featureDim: number }>>;
  /** Candidate layouts, tried in order against the checkpoint's tensor names. */
  layouts: TensorLayout[];
  /** Tensor-name prefixes that belong to other towers (vision, audio, talker) and are not loaded. */
  foreignPrefixes: string[];
  /** Vision / audio towers the config declares (loaded from the same checkpoint); absent = none. */
  towers?: TowerConfigs;
}

const posInt = z.number().int().positive();
const tokenIds = z.union([z.number().int(), z.array(z.number().int())]).nullish();

const textSchema = z.object({
  model_type: z.string().optional(),
  hidden_size: posInt,
  intermediate_size: posInt,
  num_hidden_layers: posInt,
  num_attention_heads: posInt,
  num_key_value_heads: posInt.optional(),
  head_dim: posInt.nullish(),
  vocab_size: posInt,
  rms_norm_eps: z.number().positive().default(1e-6),
  rope_theta: z.number().positive().default(10000),
  rope_scaling: z.record(z.string(), z.unknown()).nullish(),
  partial_rotary_factor: z.number().positive().max(1).optional(),
  max_position_embeddings: posInt.default(2048),
  hidden_act: z.string().default('silu'),
  tie_word_embeddings: z.boolean().optional(),
  attention_bias: z.boolean().default(false),
  mlp_bias: z.boolean().default(false),
  use_sliding_window: z.boolean().optional(),
  bos_token_id: tokenIds,
  eos_token_id: tokenIds,
});

const LLAMA_LAYOUT: TensorLayout[] = [{ prefix: 'model.', lmHead: 'lm_head.weight' }];
const VL_LAYOUTS: TensorLayout[] = [
  { prefix: 'model.language_model.', lmHead: 'lm_head.weight' },
  { prefix: 'model.', lmHead: 'lm_head.weight' },
];

export function loadModelConfig(dir: string): ModelConfig {
  const { raw, file } = readConfigJson(dir);
  return parseModelConfig(raw, file);
}

/** `dir`/config.json as parsed JSON, with its path for errors. */
export function readConfigJson(dir: string): { raw: Record<string, unknown>; file: string } {
  const file = join(dir, 'config.json');
  try {
    return { raw: JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>, file };
  } catch (e) {
    throw new Error(`${file}: cannot read as JSON (${(e as Error).message})`);
  }
}

/** Builds the ModelConfig from a parsed config.json object; `file` names it in errors. */
export function parseModelConfig(raw: Record<string, unknown>, file = 'config.json'): ModelConfig {
  const modelType = String(raw.model_type ?? '(missing)');
  let text: Record<string, unknown>;
  let family: Family;
  let layouts = LLAMA_LAYOUT;
  let foreign: string[] = [];
  switch (modelType) {
    case 'llama':
      family = 'llama';
      text = raw;
      break;
    case 'qwen2':
      family = 'qwen2';
      text = raw;
      break;
    case 'qwen2_vl':
    case 'qwen2_5_vl':
      family = 'qwen2';
      text = { ...raw, ...(raw.text_config as object | undefined) };
      layouts = VL_LAYOUTS;
      foreign = ['visual.', 'model.visual.'];
      break;
    case 'qwen2_5_omni': {
      family = 'qwen2';
      const thinker = (raw.thinker_config ?? {}) as Record<string, unknown>;
      text = { ...thinker, ...(thinker.text_config as object | undefined) };
      layouts = [{ prefix: 'thinker.model.', lmHead: 'thinker.lm_head.weight' }];
      foreign = ['thinker.visual.', 'thinker.audio_tower.', 'talker.', 'token2wav.'];
      break;
    }
    default:
      throw new Error(`${file}: model_type "${modelType}" is not supported; expected one of llama, qwen2, qwen2_vl, qwen2_5_vl, qwen2_5_omni`);
  }
  const parsed = textSchema.safeParse(text);
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`${file}: ${msg}`);
  }
  const c = parsed.data;
  if (c.hidden_act !== 'silu') throw new Error(`${file}: hidden_act "${c.hidden_act}" is not supported; expected "silu" (SwiGLU)`);
  if (c.use_sliding_window) throw new Error(`${file}: use_sliding_window=true is not supported; expected false`);
  const qHeads = c.num_attention_heads;
  const kvHeads = c.num_key_value_heads ?? qHeads;
  if (qHeads % kvHeads !== 0) throw new Error(`${file}: num_attention_heads ${qHeads} must be a multiple of num_key_value_heads ${kvHeads}`);
  const headDim = c.head_dim ?? c.hidden_size / qHeads;
  if (!Number.isInteger(headDim)) throw new Error(`${file}: hidden_size ${c.hidden_size} is not divisible by num_attention_heads ${qHeads}; give head_dim`);
  const rotaryDim = Math.round(headDim * (c.partial_rotary_factor ?? 1)) & ~1;
  const rope = parseRopeScaling(
    c.rope_scaling ?? null,
    { theta: c.rope_theta, headDim, rotaryDim, maxPositions: c.max_position_embeddings, positionsPerSecond: positionsPerSecond(text) },
    file,
  );
  return {
    modelType,
    family,
    hiddenSize: c.hidden_size,
    intermediateSize: c.intermediate_size,
    numLayers: c.num_hidden_layers,
    qHeads,
    kvHeads,
    headDim,
    vocabSize: c.vocab_size,
    rmsNormEps: c.rms_norm_eps,
    rope,
    maxPositions: c.max_position_embeddings,
    tieWordEmbeddings: c.tie_word_embeddings ?? (raw.tie_word_embeddings as boolean | undefined) ?? false,
    qkvBias: family === 'qwen2' || c.attention_bias,
    oBias: family === 'llama' && c.attention_bias,
    mlpBias: c.mlp_bias,
    bosTokenId: firstId(c.bos_token_id),
    eosTokenIds: allIds(c.eos_token_id),
    projectors: parseProjectors(raw.kvprism, file),
    layouts,
    foreignPrefixes: foreign,
    towers: parseTowerConfigs(raw, file),
  };
}

function positionsPerSecond(text: Record<string, unknown>): number {
  const v = (text.vision_config as { tokens_per_second?: unknown } | undefined)?.tokens_per_second ?? text.position_id_per_seconds;
  return typeof v === 'number' && v > 0 ? v : 1;
}

function firstId(x: number | number[] | null | undefined): number | null {
  if (x === null || x === undefined) return null;
  return Array.isArray(x) ? (x[0] ?? null) : x;
}

export function allIds(x: number | number[] | null | undefined): number[] {
  if (x === null || x === undefined) return [];
  return Array.isArray(x) ? x : [x];
}

function parseProjectors(block: unknown, file: string): ModelConfig['projectors'] {
  if (block === undefined) return {};
  const projectors = (block as { projectors?: unknown } | null)?.projectors;
  if (typeof projectors !== 'object' || projectors === null) throw new Error(`${file}: kvprism.projectors must be an object {"<modality>": {"feature_dim": F}}`);
  const out: ModelConfig['projectors'] = {};
  for (const [m, spec] of Object.entries(projectors)) {
    if (!isModality(m) || m === 'text') throw new Error(`${file}: kvprism.projectors.${m}: not a non-text modality (image, video, audio)`);
    const f = (spec as { feature_dim?: unknown } | null)?.feature_dim;
    if (!Number.isInteger(f) || (f as number) < 1) throw new Error(`${file}: kvprism.projectors.${m}.feature_dim must be a whole number ≥ 1; got ${JSON.stringify(f)}`);
    out[m] = { featureDim: f as number };
  }
  return out;
}
