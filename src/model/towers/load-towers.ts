/**
 * Loads the towers a config declares from the model's checkpoint. Vision tensors live under
 * `visual.` (published Qwen2/2.5-VL), `model.visual.` (transformers ≥ 4.52 saves) or
 * `thinker.visual.` (Omni); audio under `thinker.audio_tower.`.
 */
import type { Checkpoint } from '../safetensors.js';
import { AudioTower } from './audio-tower.js';
import { audioTensorShapes, readAudioWeights } from './audio-weights.js';
import type { TowerConfigs } from './tower-config.js';
import { TowerTensors } from './tower-tensors.js';
import { VisionTower } from './vision-tower.js';
import { readVisionWeights, visionTensorShapes } from './vision-weights.js';

export interface Towers {
  vision?: VisionTower;
  audio?: AudioTower;
}

const VISION_PREFIXES = { qwen2_vl: ['visual.', 'model.visual.'], qwen2_5_vl: ['visual.', 'model.visual.'], qwen2_5_omni: ['thinker.visual.'] } as const;
const AUDIO_PREFIX = 'thinker.audio_tower.';

/**
 * Every tower tensor a checkpoint of these configs holds, full name → shape, under the
 * canonical prefixes (`visual.`, `thinker.visual.`, `thinker.audio_tower.`): what init-model writes.
 */
export function towerTensorShapes(configs: TowerConfigs = {}): Map<string, number[]> {
  const out = new Map<string, number[]>();
  if (configs.vision) {
    const prefix = VISION_PREFIXES[configs.vision.variant][0];
    for (const [name, shape] of visionTensorShapes(configs.vision).required) out.set(prefix + name, shape);
  }
  if (configs.audio) {
    for (const [name, shape] of audioTensorShapes(configs.audio).required) out.set(AUDIO_PREFIX + name, shape);
    out.set(`${AUDIO_PREFIX}audio_bos_eos_token.weight`, [2, configs.audio.outputDim]);
  }
  return out;
}

/** The tensor prefix of each declared tower in this checkpoint (the first candidate when none matches). */
export function loadTowerPrefixes(configs: TowerConfigs, ckpt: Checkpoint): { vision?: string; audio?: string } {
  const out: { vision?: string; audio?: string } = {};
  if (configs.vision) {
    const candidates = VISION_PREFIXES[configs.vision.variant];
    out.vision = candidates.find((p) => ckpt.has(`${p}patch_embed.proj.weight`)) ?? candidates[0];
  }
  if (configs.audio) out.audio = AUDIO_PREFIX;
  return out;
}

export function loadTowers(configs: TowerConfigs = {}, ckpt: Checkpoint, where: string): Towers {
  const towers: Towers = {};
  const prefixes = loadTowerPrefixes(configs, ckpt);
  if (configs.vision && prefixes.vision) {
    const c = configs.vision;
    const t = TowerTensors.check(ckpt, prefixes.vision, visionTensorShapes(c), where, 'vision');
    towers.vision = new VisionTower(c, readVisionWeights(c, t));
  }
  if (configs.audio && prefixes.audio) {
    const c = configs.audio;
    const t = TowerTensors.check(ckpt, prefixes.audio, audioTensorShapes(c), where, 'audio');
    towers.audio = new AudioTower(c, readAudioWeights(c, t));
  }
  return towers;
}

/** Parameters of the loaded towers (for inspect / memory reports). */
export function towerParameterCount(towers: Towers): number {
  let n = 0;
  const count = (o: unknown): void => {
    if (o instanceof Float32Array || o instanceof Uint16Array) n += o.length;
    else if (Array.isArray(o)) o.forEach(count);
    else if (o && typeof o === 'object') Object.values(o).forEach(count);
  };
  if (towers.vision) count(towers.vision.weights);
  if (towers.audio) count(towers.audio.weights);
  return n;
}
