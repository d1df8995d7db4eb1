/**
 * The tiny models whose logits were computed by Hugging Face transformers (make_reference.py,
 * run on a machine with PyTorch) and stored in reference.json. Weights are regenerated
 * deterministically by init-model from the seeds here, so only logits are stored.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initModel } from '../../../src/model/init-model.js';
import type { PresetName } from '../../../src/model/presets.js';

export interface ParityModel {
  name: string;
  preset: PresetName;
  dtype: 'f32' | 'bf16';
  seed: number;
  /** Keys merged into the preset's config.json (RoPE scalings). */
  patch?: Record<string, unknown>;
}

export const PARITY_MODELS: ParityModel[] = [
  { name: 'llama', preset: 'tiny-llama', dtype: 'f32', seed: 11 },
  { name: 'llama-bf16', preset: 'tiny-llama', dtype: 'bf16', seed: 12 },
  { name: 'llama-rope-llama3', preset: 'tiny-llama', dtype: 'f32', seed: 13, patch: { head_dim: 8, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 } } },
  { name: 'llama-rope-linear', preset: 'tiny-llama', dtype: 'f32', seed: 14, patch: { rope_scaling: { rope_type: 'linear', factor: 2 } } },
  { name: 'llama-rope-dynamic', preset: 'tiny-llama', dtype: 'f32', seed: 15, patch: { max_position_embeddings: 8, rope_scaling: { rope_type: 'dynamic', factor: 2 } } },
  { name: 'qwen2', preset: 'tiny-qwen2', dtype: 'f32', seed: 16 },
  { name: 'qwen2-bf16', preset: 'tiny-qwen2', dtype: 'bf16', seed: 17 },
];

/** Large enough that attention is peaked, so RoPE and masking errors show in the logits. */
export const PARITY_STD = 0.3;

/** Fixed prompt of every parity model (ids < 256, so every preset's vocab holds them). */
export const PARITY_TOKENS = [5, 99, 17, 200, 3, 64, 64, 128, 7, 250, 31, 12];

/** Writes every parity model under dir/<name>; returns the folders. */
export function writeParityModels(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of PARITY_MODELS) {
    const folder = join(dir, m.name);
    const config = initModel({ preset: m.preset, out: folder, dtype: m.dtype, seed: m.seed, std: PARITY_STD });
    if (m.patch) writeFileSync(join(folder, 'config.json'), JSON.stringify({ ...config, ...m.patch }, null, 2));
    out.set(m.name, folder);
  }
  return out;
}

export function readReference(): Record<string, { logits: number[][] }> {
  return JSON.parse(readFileSync(new URL('./reference.json', import.meta.url), 'utf8')) as Record<string, { logits: number[][] }>;
}
