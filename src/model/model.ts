/**
 * A loaded model: config, weights in their stored dtype, tokenizer, generation defaults and
 * the ComputeBackend its math runs on. `loadModel(dir)` reads a HF model folder as it is.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ComputeBackend } from '../attention/backend.js';
import { tsBackend } from '../attention/ts-backend.js';
import { bytesPerElement } from '../util/half.js';
import type { KVDType } from '../attention/backend.js';
import { allIds, loadModelConfig, type ModelConfig } from './config.js';
import { Checkpoint } from './safetensors.js';
import { loadTokenizer, type TextTokenizer } from './tokenizer.js';
import { loadTowers, type Towers } from './towers/load-towers.js';
import { loadWeights, type ModelWeights } from './weights.js';

/** Defaults from generation_config.json (absent keys stay undefined). */
export interface GenerationDefaults {
  eosTokenIds: number[];
  temperature?: number;
  topP?: number;
  doSample?: boolean;
  maxNewTokens?: number;
}

export interface Model {
  dir: string;
  config: ModelConfig;
  weights: ModelWeights;
  tokenizer: TextTokenizer;
  generation: GenerationDefaults;
  backend: ComputeBackend;
  /** Vision / audio towers, when the config declares them (run them on `backend`). */
  towers?: Towers;
}

export interface LoadModelOptions {
  /** Backend for linear / norms / RoPE (default: the TS reference). */
  backend?: ComputeBackend;
}

export function loadModel(dir: string, opts: LoadModelOptions = {}): Model {
  if (!existsSync(dir)) throw new Error(`${dir}: model folder does not exist`);
  const config = loadModelConfig(dir);
  const ckpt = Checkpoint.open(dir);
  let weights: ModelWeights;
  let towers: Towers;
  try {
    weights = loadWeights(config, ckpt, ckpt.source);
    towers = loadTowers(config.towers, ckpt, ckpt.source);
  } finally {
    ckpt.close();
  }
  const tokenizer = loadTokenizer(dir, config);
  const generation = loadGenerationDefaults(dir, config, tokenizer);
  const model: Model = { dir, config, weights, tokenizer, generation, backend: opts.backend ?? tsBackend };
  if (towers.vision || towers.audio) model.towers = towers;
  return model;
}

function loadGenerationDefaults(dir: string, config: ModelConfig, tok: TextTokenizer): GenerationDefaults {
  const file = join(dir, 'generation_config.json');
  let raw: Record<string, unknown> = {};
  if (existsSync(file)) {
    try {
      raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`${file}: cannot read as JSON (${(e as Error).message})`);
    }
  }
  const num = (k: string): number | undefined => {
    const v = raw[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number') throw new Error(`${file}: ${k} must be a number; got ${JSON.stringify(v)}`);
    return v;
  };
  const eos = raw.eos_token_id as number | number[] | null | undefined;
  return {
    eosTokenIds: [...new Set([...allIds(eos), ...config.eosTokenIds, ...tok.eosIds])],
    temperature: num('temperature'),
    topP: num('top_p'),
    doSample: typeof raw.do_sample === 'boolean' ? raw.do_sample : undefined,
    maxNewTokens: num('max_new_tokens'),
  };
}

/** Parameters of the backbone (embedding counted once when tied) plus projectors. */
export function parameterCount(m: Model): number {
  const w = m.weights;
  let n = w.embed.data.length + w.norm.length;
  if (w.lmHead !== w.embed) n += w.lmHead.data.length;
  for (const l of w.layers) {
    for (const x of [l.inputNorm, l.postNorm, l.q.data, l.k.data, l.v.data, l.o.data, l.gate.data, l.up.data, l.down.data]) n += x.length;
    for (const b of [l.qBias, l.kBias, l.vBias, l.oBias, l.gateBias, l.upBias, l.downBias]) n += b?.length ?? 0;
  }
  for (const p of Object.values(w.projectors)) n += p.linear1.data.length + p.bias1.length + p.linear2.data.length + p.bias2.length;
  return n;
}

/** Bytes of K and V per cached token across all layers at the given storage dtype. */
export function kvBytesPerToken(c: ModelConfig, dtype: KVDType = 'f32'): number {
  return 2 * c.numLayers * c.kvHeads * c.headDim * bytesPerElement(dtype);
}
