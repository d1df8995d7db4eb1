/**
 * The Qwen2.5-Omni audio encoder's tensors (transformers' names under `thinker.audio_tower.`):
 * conv1 [d][mel][3], conv2 [d][d][3] (Conv1d weights, used as GEMMs over 3-frame windows),
 * Whisper-style layers (k_proj has no bias), ln_post, proj. `audio_bos_eos_token` is in
 * published checkpoints but unused by the encoder's forward.
 */
import type { LinearWeight } from '../../attention/backend.js';
import type { AudioTowerConfig } from './tower-config.js';
import type { TensorShapes, TowerTensors } from './tower-tensors.js';

export interface AudioLayerWeights {
  attnNorm: { weight: Float32Array; bias: Float32Array };
  q: LinearWeight;
  qBias: Float32Array;
  k: LinearWeight;
  v: LinearWeight;
  vBias: Float32Array;
  out: LinearWeight;
  outBias: Float32Array;
  ffnNorm: { weight: Float32Array; bias: Float32Array };
  fc1: LinearWeight;
  fc1Bias: Float32Array;
  fc2: LinearWeight;
  fc2Bias: Float32Array;
}

export interface AudioWeights {
  /** [d][mel·3] */
  conv1: LinearWeight;
  conv1Bias: Float32Array;
  /** [d][d·3] */
  conv2: LinearWeight;
  conv2Bias: Float32Array;
  layers: AudioLayerWeights[];
  lnPost: { weight: Float32Array; bias: Float32Array };
  /** [outputDim][d] */
  proj: LinearWeight;
  projBias: Float32Array;
}

export function audioTensorShapes(c: AudioTowerConfig): TensorShapes {
  const d = c.dModel;
  const m = new Map<string, number[]>();
  m.set('conv1.weight', [d, c.numMelBins, 3]);
  m.set('conv1.bias', [d]);
  m.set('conv2.weight', [d, d, 3]);
  m.set('conv2.bias', [d]);
  for (let i = 0; i < c.layers; i++) {
    const L = `layers.${i}.`;
    for (const p of ['q', 'k', 'v', 'out']) {
      m.set(`${L}self_attn.${p}_proj.weight`, [d, d]);
      if (p !== 'k') m.set(`${L}self_attn.${p}_proj.bias`, [d]);
    }
    for (const n of ['self_attn_layer_norm', 'final_layer_norm']) {
      m.set(`${L}${n}.weight`, [d]);
      m.set(`${L}${n}.bias`, [d]);
    }
    m.set(`${L}fc1.weight`, [c.ffnDim, d]);
    m.set(`${L}fc1.bias`, [c.ffnDim]);
    m.set(`${L}fc2.weight`, [d, c.ffnDim]);
    m.set(`${L}fc2.bias`, [d]);
  }
  m.set('ln_post.weight', [d]);
  m.set('ln_post.bias', [d]);
  m.set('proj.weight', [c.outputDim, d]);
  m.set('proj.bias', [c.outputDim]);
  return { required: m, optional: new Set(['audio_bos_eos_token.weight']) };
}

export function readAudioWeights(c: AudioTowerConfig, t: TowerTensors): AudioWeights {
  const ln = (name: string): { weight: Float32Array; bias: Float32Array } => ({ weight: t.vector(`${name}.weight`), bias: t.vector(`${name}.bias`) });
  const layers: AudioLayerWeights[] = [];
  for (let i = 0; i < c.layers; i++) {
    const L = `layers.${i}.`;
    const A = `${L}self_attn.`;
    layers.push({
      attnNorm: ln(`${L}self_attn_layer_norm`),
      q: t.linear(`${A}q_proj.weight`),
      qBias: t.vector(`${A}q_proj.bias`),
      k: t.linear(`${A}k_proj.weight`),
      v: t.linear(`${A}v_proj.weight`),
      vBias: t.vector(`${A}v_proj.bias`),
      out: t.linear(`${A}out_proj.weight`),
      outBias: t.vector(`${A}out_proj.bias`),
      ffnNorm: ln(`${L}final_layer_norm`),
      fc1: t.linear(`${L}fc1.weight`),
      fc1Bias: t.vector(`${L}fc1.bias`),
      fc2: t.linear(`${L}fc2.weight`),
      fc2Bias: t.vector(`${L}fc2.bias`),
    });
  }
  return {
    conv1: t.linear('conv1.weight'),
    conv1Bias: t.vector('conv1.bias'),
    conv2: t.linear('conv2.weight'),
    conv2Bias: t.vector('conv2.bias'),
    layers,
    lnPost: ln('ln_post'),
    proj: t.linear('proj.weight'),
    projBias: t.vector('proj.bias'),
  };
}
