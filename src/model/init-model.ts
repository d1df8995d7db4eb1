/**
 * Writes a real HF-format model folder with random weights at a preset's published shapes:
 * config.json, generation_config.json, model.safetensors (tensor names and shapes from the
 * same table the loader validates against), tokenizer.json + tokenizer_config.json (byte-level),
 * and for Qwen2-VL / 2.5-VL / Omni presets the chat and media special tokens, chat_template.json
 * (the published template) and preprocessor_config.json (the published processors' keys).
 * Linear weights and biases ~ N(0, std²) (std 0.02 by default), decoder norm weights 1. Tower
 * tensors (vision / audio, when the preset has them) come from their own random stream, with
 * norm scales 1 + N(0, std²).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Modality } from '../cache/modality.js';
import { encodeFromF32 } from '../util/half.js';
import { hashSeed, randomNormalArray } from '../util/random.js';
import { byteLevelTokenizer } from './byte-tokenizer.js';
import { multimodalFolderFiles } from './families/folder-files.js';
import { parseModelConfig } from './config.js';
import { PRESETS, type PresetName } from './presets.js';
import type { SafetensorsDType } from './safetensors-header.js';
import { writeSafetensorsFrom, type TensorSpec } from './safetensors-write.js';
import { towerTensorShapes } from './towers/load-towers.js';
import { expectedTensors } from './weights.js';

export interface InitModelOptions {
  preset: PresetName;
  out: string;
  /** Weight storage type (default f32). */
  dtype?: 'f32' | 'f16' | 'bf16';
  /** Override num_hidden_layers of the text decoder. */
  layers?: number;
  /** Override the towers' depth (vision depth, audio encoder_layers); full-attention blocks past it are dropped. */
  towerLayers?: number;
  seed?: number;
  /** Standard deviation of the random weights (default 0.02; larger makes attention peaked, for parity tests). */
  std?: number;
  /** Feature projectors to add: modality → feature dim. */
  projectors?: Partial<Record<Exclude<Modality, 'text'>, number>>;
}

const ST_DTYPE: Record<NonNullable<InitModelOptions['dtype']>, SafetensorsDType> = { f32: 'F32', f16: 'F16', bf16: 'BF16' };

/** Writes the folder; returns the config.json object written. */
export function initModel(opts: InitModelOptions): Record<string, unknown> {
  const dtype = opts.dtype ?? 'f32';
  if (!(dtype in ST_DTYPE)) throw new RangeError(`--dtype must be f32, f16 or bf16; got ${String(dtype)}`);
  const config: Record<string, unknown> = { ...PRESETS[opts.preset], torch_dtype: { f32: 'float32', f16: 'float16', bf16: 'bfloat16' }[dtype] };
  if (opts.layers !== undefined) {
    if (!Number.isInteger(opts.layers) || opts.layers < 1) throw new RangeError(`--layers must be a whole number ≥ 1; got ${opts.layers}`);
    textBlock(config).num_hidden_layers = opts.layers;
  }
  if (opts.towerLayers !== undefined) setTowerDepth(config, opts.towerLayers);
  if (opts.projectors && Object.keys(opts.projectors).length > 0) {
    config.kvprism = { projectors: Object.fromEntries(Object.entries(opts.projectors).map(([m, f]) => [m, { feature_dim: f }])) };
  }
  const parsed = parseModelConfig(config, `preset ${opts.preset}`);
  mkdirSync(opts.out, { recursive: true });
  const specs = new Map<string, TensorSpec>();
  for (const [name, spec] of expectedTensors(parsed, parsed.layouts[parsed.layouts.length - 1]!)) {
    if (!spec.optional) specs.set(name, { dtype: ST_DTYPE[dtype], shape: spec.shape });
  }
  const towerShapes = towerTensorShapes(parsed.towers);
  for (const [name, shape] of towerShapes) specs.set(name, { dtype: ST_DTYPE[dtype], shape });
  const seed = opts.seed ?? 0;
  const std = opts.std ?? 0.02;
  let index = 0;
  let towerIndex = 0;
  writeSafetensorsFrom(join(opts.out, 'model.safetensors'), specs, (name) => {
    const n = specs.get(name)!.shape.reduce((a, b) => a * b, 1);
    let f32: Float32Array;
    if (towerShapes.has(name)) {
      // Own random stream, so adding towers leaves the decoder's weights as they were.
      f32 = randomNormalArray(n, hashSeed(seed, TOWER_STREAM, towerIndex++), std);
      // Norm scales near 1 but not 1, so a test notices a scale that is not applied.
      if (TOWER_NORM_SCALE.test(name)) for (let i = 0; i < n; i++) f32[i]! += 1;
    } else {
      f32 = /norm\.weight$/.test(name) ? new Float32Array(n).fill(1) : randomNormalArray(n, hashSeed(seed, index++), std);
    }
    return dtype === 'f32' ? f32 : toHalf(f32, dtype);
  }, { format: 'pt', generator: `kvprism init-model --preset ${opts.preset}` });
  writeJson(join(opts.out, 'config.json'), config);
  const bos = parsed.bosTokenId;
  const eos = parsed.eosTokenIds[0] ?? null;
  writeJson(join(opts.out, 'generation_config.json'), { bos_token_id: bos, eos_token_id: eos, do_sample: false });
  const specials = bos !== null && bos === eos ? [{ content: '<|endoftext|>', id: bos }] : [
    ...(bos !== null ? [{ content: '<s>', id: bos }] : []),
    ...(eos !== null ? [{ content: '</s>', id: eos }] : []),
  ];
  const low = specials.filter((s) => s.id < 256).map((s) => s.id);
  const firstByte = low.length ? Math.max(...low) + 1 : 0;
  if (firstByte + 256 > parsed.vocabSize) throw new RangeError(`preset ${opts.preset}: vocab ${parsed.vocabSize} cannot hold 256 byte tokens from id ${firstByte}`);
  const multimodal = multimodalFolderFiles(config);
  if (multimodal) {
    // The family's special tokens take the first free ids after the bytes and BOS / EOS.
    let id = Math.max(firstByte + 256, ...specials.map((s) => s.id + 1));
    for (const content of multimodal.specialTokens) specials.push({ content, id: id++ });
    if (id > parsed.vocabSize) throw new RangeError(`preset ${opts.preset}: vocab ${parsed.vocabSize} cannot hold the ${multimodal.specialTokens.length} chat and media tokens after id ${id - multimodal.specialTokens.length}`);
    writeJson(join(opts.out, 'chat_template.json'), multimodal.chatTemplate);
    writeJson(join(opts.out, 'preprocessor_config.json'), multimodal.preprocessor);
  }
  const names = (id: number | null): string | undefined => specials.find((s) => s.id === id)?.content;
  const tok = byteLevelTokenizer(specials, firstByte, { bos: names(bos), eos: names(eos), addBos: parsed.family === 'llama' && bos !== eos });
  for (const [file, body] of Object.entries(tok)) writeJson(join(opts.out, file), body);
  return config;
}

const TOWER_STREAM = 0x70776572;
const TOWER_NORM_SCALE = /(norm1|norm2|ln_q|layer_norm|ln_post)\.weight$/;

/** The config block holding the text decoder's fields (Omni nests it in the thinker). */
function textBlock(config: Record<string, unknown>): Record<string, unknown> {
  const thinker = config.thinker_config as Record<string, unknown> | undefined;
  if (!thinker) return config;
  const text = { ...(thinker.text_config as Record<string, unknown>) };
  config.thinker_config = { ...thinker, text_config: text };
  return text;
}

function setTowerDepth(config: Record<string, unknown>, depth: number): void {
  if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`--tower-layers must be a whole number ≥ 1; got ${depth}`);
  const thinker = config.thinker_config as Record<string, unknown> | undefined;
  const holder = thinker ? (config.thinker_config = { ...thinker }) as Record<string, unknown> : config;
  const vision = holder.vision_config as Record<string, unknown> | undefined;
  if (vision && 'depth' in vision) {
    const full = ((vision.fullatt_block_indexes as number[] | undefined) ?? []).filter((i) => i < depth);
    // Keep one full-attention block, as every published 2.5 tower has, when all fall past the cut.
    const fullatt = vision.fullatt_block_indexes && full.length === 0 ? [depth - 1] : full;
    holder.vision_config = { ...vision, depth, ...(vision.fullatt_block_indexes ? { fullatt_block_indexes: fullatt } : {}) };
  }
  const audio = holder.audio_config as Record<string, unknown> | undefined;
  if (audio) holder.audio_config = { ...audio, encoder_layers: depth };
}

function toHalf(x: Float32Array, dtype: 'f16' | 'bf16'): Uint16Array {
  const out = new Uint16Array(x.length);
  if (dtype === 'f16') {
    encodeFromF32(x, 'f16', out, 0);
    return out;
  }
  // Round-to-nearest-even on the raw bits (random weights are finite).
  const u = new Uint32Array(x.buffer, x.byteOffset, x.length);
  for (let i = 0; i < u.length; i++) out[i] = (u[i]! + 0x7fff + ((u[i]! >>> 16) & 1)) >>> 16;
  return out;
}

function writeJson(file: string, body: unknown): void {
  writeFileSync(file, JSON.stringify(body, null, 2) + '\n');
}
