/**
 * Writes a real HF-format model folder with random weights at a preset's published shapes:
 * config.json, generation_config.json, model.safetensors (tensor names and shapes from the
 * same table the loader validates against), tokenizer.json + tokenizer_config.json (byte-level).
 * Linear weights and biases ~ N(0, std²) (std 0.02 by default), norm weights 1.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Modality } from '../cache/modality.js';
import { encodeFromF32 } from '../util/half.js';
import { hashSeed, randomNormalArray } from '../util/random.js';
import { byteLevelTokenizer } from './byte-tokenizer.js';
import { parseModelConfig } from './config.js';
import { PRESETS, type PresetName } from './presets.js';
import type { SafetensorsDType } from './safetensors-header.js';
import { writeSafetensorsFrom, type TensorSpec } from './safetensors-write.js';
import { expectedTensors } from './weights.js';

export interface InitModelOptions {
  preset: PresetName;
  out: string;
  /** Weight storage type (default f32). */
  dtype?: 'f32' | 'f16' | 'bf16';
  /** Override num_hidden_layers. */
  layers?: number;
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
    config.num_hidden_layers = opts.layers;
  }
  if (opts.projectors && Object.keys(opts.projectors).length > 0) {
    config.kvprism = { projectors: Object.fromEntries(Object.entries(opts.projectors).map(([m, f]) => [m, { feature_dim: f }])) };
  }
  const parsed = parseModelConfig(config, `preset ${opts.preset}`);
  mkdirSync(opts.out, { recursive: true });
  const specs = new Map<string, TensorSpec>();
  for (const [name, spec] of expectedTensors(parsed, parsed.layouts[parsed.layouts.length - 1]!)) {
    if (!spec.optional) specs.set(name, { dtype: ST_DTYPE[dtype], shape: spec.shape });
  }
  const seed = opts.seed ?? 0;
  let index = 0;
  writeSafetensorsFrom(join(opts.out, 'model.safetensors'), specs, (name) => {
    const n = specs.get(name)!.shape.reduce((a, b) => a * b, 1);
    const f32 = /norm\.weight$/.test(name) ? new Float32Array(n).fill(1) : randomNormalArray(n, hashSeed(seed, index++), opts.std ?? 0.02);
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
  const names = (id: number | null): string | undefined => specials.find((s) => s.id === id)?.content;
  const tok = byteLevelTokenizer(specials, firstByte, { bos: names(bos), eos: names(eos), addBos: parsed.family === 'llama' && bos !== eos });
  for (const [file, body] of Object.entries(tok)) writeJson(join(opts.out, file), body);
  return config;
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
