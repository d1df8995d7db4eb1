/**
 * What `kvprism inspect` says about a folder's towers: shape summary, parameters and stored
 * bytes, from config.json and the safetensors headers only (validated as the loader does).
 */
import type { Checkpoint } from '../safetensors.js';
import { audioTensorShapes } from './audio-weights.js';
import { loadTowerPrefixes } from './load-towers.js';
import type { TowerConfigs } from './tower-config.js';
import { TowerTensors, type TensorShapes } from './tower-tensors.js';
import { visionTensorShapes } from './vision-weights.js';

export interface TowerDescription {
  tower: 'vision' | 'audio';
  summary: string;
  parameters: number;
  /** Bytes of the tower's tensors as stored. */
  bytes: number;
}

export function describeTowers(configs: TowerConfigs = {}, ckpt: Checkpoint, where: string): TowerDescription[] {
  const prefixes = loadTowerPrefixes(configs, ckpt);
  const out: TowerDescription[] = [];
  const measure = (prefix: string, shapes: TensorShapes, tower: 'vision' | 'audio'): { parameters: number; bytes: number } => {
    TowerTensors.check(ckpt, prefix, shapes, where, tower);
    let parameters = 0;
    let bytes = 0;
    for (const name of shapes.required.keys()) {
      const e = ckpt.entry(prefix + name);
      parameters += e.shape.reduce((a, b) => a * b, 1);
      bytes += e.end - e.begin;
    }
    return { parameters, bytes };
  };
  const v = configs.vision;
  if (v && prefixes.vision) {
    const attention = v.windowSize === null ? 'attention per frame' : `windows of ${v.windowSize} px, full attention at blocks [${v.fullAttBlocks.join(', ')}]`;
    const summary = `${v.variant} ${v.depth} blocks × ${v.hiddenSize} (${v.numHeads} heads, ${v.norm}, ${v.mlp} ${v.intermediateSize}), patch ${v.patchSize}×${v.patchSize}×${v.temporalPatchSize}, merge ${v.spatialMergeSize}×${v.spatialMergeSize} → ${v.outHiddenSize}; ${attention}`;
    out.push({ tower: 'vision', summary, ...measure(prefixes.vision, visionTensorShapes(v), 'vision') });
  }
  const a = configs.audio;
  if (a && prefixes.audio) {
    const summary = `${a.layers} layers × ${a.dModel} (${a.heads} heads, ffn ${a.ffnDim}), ${a.numMelBins} mel bins, chunks of ${2 * a.nWindow} frames → ${a.outputDim}`;
    out.push({ tower: 'audio', summary, ...measure(prefixes.audio, audioTensorShapes(a), 'audio') });
  }
  return out;
}
