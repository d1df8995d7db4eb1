/**
 * What `kvprism inspect` prints: a model folder's architecture, parameter count, weight
 * dtypes and KV bytes per token, read from config.json and the safetensors headers only (no
 * tensor data), after the same name/shape validation the loader does.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadModelConfig, type ModelConfig } from './config.js';
import { kvBytesPerToken } from './model.js';
import { Checkpoint } from './safetensors.js';
import { describeMedia, type MediaDescription } from './families/describe-media.js';
import { describeTowers, type TowerDescription } from './towers/describe-towers.js';
import { checkTensors } from './weights.js';

export interface ModelDescription {
  dir: string;
  config: ModelConfig;
  /** Parameters of the backbone and projectors (tied embeddings counted once). */
  parameters: number;
  /** Bytes of backbone weights as stored. */
  weightBytes: number;
  /** Stored dtype → tensor count. */
  dtypes: Record<string, number>;
  /** K+V bytes per cached token, all layers, by cache dtype. */
  kvBytesPerToken: { f32: number; bf16: number };
  tokenizer: string;
  checkpoint: string;
  /** Vision / audio towers the config declares (not counted in `parameters`). */
  towers: TowerDescription[];
  /** Family, placeholders, chat template and media settings of a multimodal folder (null otherwise). */
  media: MediaDescription | null;
}

export function describeModel(dir: string): ModelDescription {
  if (!existsSync(dir)) throw new Error(`${dir}: model folder does not exist`);
  const config = loadModelConfig(dir);
  const ckpt = Checkpoint.open(dir);
  try {
    const { expected } = checkTensors(config, ckpt, ckpt.source);
    let parameters = 0;
    let weightBytes = 0;
    const dtypes: Record<string, number> = {};
    for (const name of expected.keys()) {
      if (!ckpt.has(name)) continue;
      const e = ckpt.entry(name);
      parameters += e.shape.reduce((a, b) => a * b, 1);
      weightBytes += e.end - e.begin;
      dtypes[e.dtype] = (dtypes[e.dtype] ?? 0) + 1;
    }
    const tokenizer = existsSync(join(dir, 'tokenizer.json')) ? 'tokenizer.json' : 'llama2.c tokenizer.bin';
    return {
      dir,
      config,
      parameters,
      weightBytes,
      dtypes,
      kvBytesPerToken: { f32: kvBytesPerToken(config, 'f32'), bf16: kvBytesPerToken(config, 'bf16') },
      tokenizer,
      checkpoint: ckpt.source,
      towers: describeTowers(config.towers, ckpt, ckpt.source),
      media: describeMedia(dir),
    };
  } finally {
    ckpt.close();
  }
}

/** Human-readable lines for the CLI. */
export function formatDescription(d: ModelDescription): string {
  const c = d.config;
  const rope = c.rope.scaling.type === 'default' ? 'default' : JSON.stringify(c.rope.scaling);
  const lines = [
    `model        ${d.dir}`,
    `architecture ${c.modelType} (${c.family} decoder)`,
    `parameters   ${(d.parameters / 1e6).toFixed(2)} M (${fmtBytes(d.weightBytes)} as stored: ${Object.entries(d.dtypes).map(([k, v]) => `${v} ${k}`).join(', ')})`,
    `layers       ${c.numLayers}`,
    `heads        ${c.qHeads} query, ${c.kvHeads} KV (GQA ${c.qHeads / c.kvHeads}), head dim ${c.headDim}`,
    `hidden       ${c.hiddenSize}, intermediate ${c.intermediateSize}, vocab ${c.vocabSize}`,
    `rope         theta ${c.rope.theta}, rotary dim ${c.rope.rotaryDim}, scaling ${rope}${c.rope.mropeSection ? `, mrope sections [${c.rope.mropeSection.join(', ')}]` : ''}`,
    `biases       qkv ${c.qkvBias}, o ${c.oBias}, mlp ${c.mlpBias}; tied embeddings ${c.tieWordEmbeddings}`,
    `KV / token   ${fmtBytes(d.kvBytesPerToken.f32)} f32, ${fmtBytes(d.kvBytesPerToken.bf16)} bf16 (all layers, K+V)`,
    `tokenizer    ${d.tokenizer}`,
  ];
  const proj = Object.entries(c.projectors);
  if (proj.length) lines.push(`projectors   ${proj.map(([m, p]) => `${m} (${p.featureDim} → ${c.hiddenSize})`).join(', ')}`);
  for (const t of d.towers) lines.push(`${`${t.tower} tower`.padEnd(12)} ${t.summary}; ${(t.parameters / 1e6).toFixed(2)} M (${fmtBytes(t.bytes)})`);
  if (d.media) {
    const m = d.media;
    lines.push(`family       ${m.family}`, `placeholders ${m.placeholders}`, `template     ${m.template}`, `video in     ${m.video}`, `image in     ${m.image}`, `audio in     ${m.audio}`);
  }
  return lines.join('\n');
}

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
