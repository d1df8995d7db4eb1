/**
 * Tower parity inputs: tiny random VL / Omni folders (init-model, fixed seeds) plus pixel and
 * mel inputs, for make_tower_reference.py to run through transformers' own tower modules.
 * `npx tsx test/model/hf-reference/tower-models.ts OUT_DIR` writes them; the Python script
 * writes tower_reference.json, which hf-tower-parity.test.ts compares against when present.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { initModel } from '../../../src/model/init-model.js';
import type { PresetName } from '../../../src/model/presets.js';
import { writeSafetensors } from '../../../src/model/safetensors-write.js';
import type { PatchGrid } from '../../../src/model/towers/token-counts.js';

export interface TowerParityModel {
  name: string;
  preset: PresetName;
  seed: number;
  grids: PatchGrid[];
  /** Mel frames in the feature array and how many are valid (Omni only). */
  audio?: { frames: number; valid: number };
}

export const TOWER_PARITY: TowerParityModel[] = [
  { name: 'qwen2-vl-towers', preset: 'tiny-qwen2-vl', seed: 21, grids: [{ t: 2, h: 4, w: 6 }, { t: 1, h: 6, w: 2 }] },
  { name: 'qwen2.5-vl-towers', preset: 'tiny-qwen2.5-vl', seed: 22, grids: [{ t: 1, h: 6, w: 10 }, { t: 2, h: 4, w: 4 }] },
  { name: 'omni-towers', preset: 'tiny-qwen2.5-omni', seed: 23, grids: [{ t: 2, h: 6, w: 6 }], audio: { frames: 40, valid: 37 } },
];

/** Large enough that attention is peaked, so masking and RoPE errors show. */
export const TOWER_PARITY_STD = 0.3;

const PATCH_DIM = 3 * 2 * 14 * 14;

/** Deterministic inputs: pixels [Σ t·h·w][1176], mel [128][frames]. */
export function towerInputs(m: TowerParityModel): { pixels: Float32Array; mel?: Float32Array } {
  const n = m.grids.reduce((a, g) => a + g.t * g.h * g.w, 0);
  const pixels = Float32Array.from({ length: n * PATCH_DIM }, (_, i) => Math.sin(i * 0.731 + m.seed) * 1.5);
  const mel = m.audio ? Float32Array.from({ length: 128 * m.audio.frames }, (_, i) => Math.cos(i * 0.113 + m.seed) * 0.8 - 0.2) : undefined;
  return { pixels, mel };
}

/** Writes dir/<name>/ (model folder + inputs.safetensors + tower_inputs.json) for every model. */
export function writeTowerParityModels(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of TOWER_PARITY) {
    const folder = join(dir, m.name);
    initModel({ preset: m.preset, out: folder, seed: m.seed, std: TOWER_PARITY_STD });
    const { pixels, mel } = towerInputs(m);
    const tensors = new Map([['pixel_values', { dtype: 'F32' as const, shape: [pixels.length / PATCH_DIM, PATCH_DIM], data: pixels }]]);
    if (mel) tensors.set('mel', { dtype: 'F32', shape: [128, m.audio!.frames], data: mel });
    writeSafetensors(join(folder, 'inputs.safetensors'), tensors);
    writeFileSync(join(folder, 'tower_inputs.json'), JSON.stringify({ grids: m.grids.map((g) => [g.t, g.h, g.w]), audio: m.audio ?? null }));
    out.set(m.name, folder);
  }
  return out;
}

export type TowerReference = Record<string, { vision: number[][]; audio?: number[][]; transformers: string }>;

/** tower_reference.json next to this file, or undefined while it has not been made. */
export function readTowerReference(): TowerReference | undefined {
  const file = new URL('./tower_reference.json', import.meta.url);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as TowerReference) : undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: npx tsx test/model/hf-reference/tower-models.ts OUT_DIR');
  mkdirSync(dir, { recursive: true });
  for (const [name, folder] of writeTowerParityModels(dir)) console.log(name, folder);
}
