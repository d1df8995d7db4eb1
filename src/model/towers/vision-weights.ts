/**
 * The vision tower's tensors per variant, with transformers' names under the tower prefix:
 * `patch_embed.proj.weight` [D][C][tp][p][p] (the Conv3d with kernel = stride, used as a GEMM
 * over the processor's patch rows), `blocks.{i}.…`, `merger.ln_q`, `merger.mlp.{0,2}`.
 * Qwen2-VL / 2.5-VL fuse q, k, v in `attn.qkv` (rows q | k | v); Omni stores `attn.q/k/v`.
 */
import type { LinearWeight } from '../../attention/backend.js';
import type { VisionTowerConfig } from './tower-config.js';
import { linearRows, type TensorShapes, type TowerTensors } from './tower-tensors.js';

export interface VisionNorm {
  weight: Float32Array;
  /** LayerNorm (Qwen2-VL) only. */
  bias?: Float32Array;
}

export interface VisionBlockWeights {
  norm1: VisionNorm;
  norm2: VisionNorm;
  q: LinearWeight;
  k: LinearWeight;
  v: LinearWeight;
  qBias: Float32Array;
  kBias: Float32Array;
  vBias: Float32Array;
  proj: LinearWeight;
  projBias: Float32Array;
  /** quick_gelu MLP: fc1 = up, fc2 = down; gated: gate/up/down. */
  gate?: LinearWeight;
  gateBias?: Float32Array;
  up: LinearWeight;
  upBias: Float32Array;
  down: LinearWeight;
  downBias: Float32Array;
}

export interface VisionWeights {
  /** [D][C·tp·p·p] */
  patchEmbed: LinearWeight;
  blocks: VisionBlockWeights[];
  mergerNorm: VisionNorm;
  /** [D·m²][D·m²] and [out][D·m²] */
  merger1: LinearWeight;
  merger1Bias: Float32Array;
  merger2: LinearWeight;
  merger2Bias: Float32Array;
}

export function visionTensorShapes(c: VisionTowerConfig): TensorShapes {
  const D = c.hiddenSize;
  const I = c.intermediateSize;
  const merged = D * c.spatialMergeSize ** 2;
  const m = new Map<string, number[]>();
  const norm = (name: string): void => {
    m.set(`${name}.weight`, [D]);
    if (c.norm === 'layernorm') m.set(`${name}.bias`, [D]);
  };
  m.set('patch_embed.proj.weight', [D, c.inChannels, c.temporalPatchSize, c.patchSize, c.patchSize]);
  for (let i = 0; i < c.depth; i++) {
    const B = `blocks.${i}.`;
    norm(`${B}norm1`);
    norm(`${B}norm2`);
    if (c.variant === 'qwen2_5_omni') {
      for (const x of ['q', 'k', 'v']) {
        m.set(`${B}attn.${x}.weight`, [D, D]);
        m.set(`${B}attn.${x}.bias`, [D]);
      }
    } else {
      m.set(`${B}attn.qkv.weight`, [3 * D, D]);
      m.set(`${B}attn.qkv.bias`, [3 * D]);
    }
    m.set(`${B}attn.proj.weight`, [D, D]);
    m.set(`${B}attn.proj.bias`, [D]);
    const mlp: [string, number, number][] = c.mlp === 'quick_gelu' ? [['fc1', I, D], ['fc2', D, I]] : [['gate_proj', I, D], ['up_proj', I, D], ['down_proj', D, I]];
    for (const [name, out, inp] of mlp) {
      m.set(`${B}mlp.${name}.weight`, [out, inp]);
      m.set(`${B}mlp.${name}.bias`, [out]);
    }
  }
  norm('merger.ln_q');
  m.set('merger.mlp.0.weight', [merged, merged]);
  m.set('merger.mlp.0.bias', [merged]);
  m.set('merger.mlp.2.weight', [c.outHiddenSize, merged]);
  m.set('merger.mlp.2.bias', [c.outHiddenSize]);
  return { required: m };
}

export function readVisionWeights(c: VisionTowerConfig, t: TowerTensors): VisionWeights {
  const D = c.hiddenSize;
  const norm = (name: string): VisionNorm => ({ weight: t.vector(`${name}.weight`), bias: c.norm === 'layernorm' ? t.vector(`${name}.bias`) : undefined });
  const blocks: VisionBlockWeights[] = [];
  for (let i = 0; i < c.depth; i++) {
    const B = `blocks.${i}.`;
    let q: LinearWeight, k: LinearWeight, v: LinearWeight, qBias: Float32Array, kBias: Float32Array, vBias: Float32Array;
    if (c.variant === 'qwen2_5_omni') {
      [q, k, v] = [t.linear(`${B}attn.q.weight`), t.linear(`${B}attn.k.weight`), t.linear(`${B}attn.v.weight`)];
      [qBias, kBias, vBias] = [t.vector(`${B}attn.q.bias`), t.vector(`${B}attn.k.bias`), t.vector(`${B}attn.v.bias`)];
    } else {
      const qkv = t.linear(`${B}attn.qkv.weight`);
      const bias = t.vector(`${B}attn.qkv.bias`);
      [q, k, v] = [linearRows(qkv, 0, D), linearRows(qkv, D, D), linearRows(qkv, 2 * D, D)];
      [qBias, kBias, vBias] = [bias.subarray(0, D), bias.subarray(D, 2 * D), bias.subarray(2 * D)];
    }
    const gated = c.mlp === 'gated_silu';
    blocks.push({
      norm1: norm(`${B}norm1`),
      norm2: norm(`${B}norm2`),
      q, k, v, qBias, kBias, vBias,
      proj: t.linear(`${B}attn.proj.weight`),
      projBias: t.vector(`${B}attn.proj.bias`),
      gate: gated ? t.linear(`${B}mlp.gate_proj.weight`) : undefined,
      gateBias: gated ? t.vector(`${B}mlp.gate_proj.bias`) : undefined,
      up: t.linear(gated ? `${B}mlp.up_proj.weight` : `${B}mlp.fc1.weight`),
      upBias: t.vector(gated ? `${B}mlp.up_proj.bias` : `${B}mlp.fc1.bias`),
      down: t.linear(gated ? `${B}mlp.down_proj.weight` : `${B}mlp.fc2.weight`),
      downBias: t.vector(gated ? `${B}mlp.down_proj.bias` : `${B}mlp.fc2.bias`),
    });
  }
  return {
    patchEmbed: t.linear('patch_embed.proj.weight'),
    blocks,
    mergerNorm: norm('merger.ln_q'),
    merger1: t.linear('merger.mlp.0.weight'),
    merger1Bias: t.vector('merger.mlp.0.bias'),
    merger2: t.linear('merger.mlp.2.weight'),
    merger2Bias: t.vector('merger.mlp.2.bias'),
  };
}
