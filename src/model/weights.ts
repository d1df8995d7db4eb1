/**
 * The tensors a decoder of our families needs, by name and shape, and loading them from a
 * checkpoint. A missing tensor, a tensor of the wrong shape, or an unexpected extra tensor
 * (outside the towers a VL/Omni checkpoint is known to carry) is an error naming the file and
 * the tensor. Linear weights stay in their stored dtype (bf16/f16 as Uint16Array bits);
 * norms and biases are small and decoded to f32.
 */
import type { KVDType, LinearWeight } from '../attention/backend.js';
import type { Modality } from '../cache/modality.js';
import { decodeToF32 } from '../util/half.js';
import type { ModelConfig, TensorLayout } from './config.js';
import type { Checkpoint, Tensor } from './safetensors.js';

export interface LayerWeights {
  inputNorm: Float32Array;
  postNorm: Float32Array;
  q: LinearWeight;
  k: LinearWeight;
  v: LinearWeight;
  o: LinearWeight;
  qBias?: Float32Array;
  kBias?: Float32Array;
  vBias?: Float32Array;
  oBias?: Float32Array;
  gate: LinearWeight;
  up: LinearWeight;
  down: LinearWeight;
  gateBias?: Float32Array;
  upBias?: Float32Array;
  downBias?: Float32Array;
}

/** Feature projector of one modality: hidden = W2·gelu_tanh(W1·x + b1) + b2. */
export interface ProjectorWeights {
  featureDim: number;
  linear1: LinearWeight;
  bias1: Float32Array;
  linear2: LinearWeight;
  bias2: Float32Array;
}

export interface ModelWeights {
  /** [vocab][hidden] token embeddings. */
  embed: LinearWeight;
  layers: LayerWeights[];
  norm: Float32Array;
  /** [vocab][hidden]; the embedding table itself when embeddings are tied. */
  lmHead: LinearWeight;
  projectors: Partial<Record<Modality, ProjectorWeights>>;
}

/** Tensors older checkpoints carry that the runtime recomputes (RoPE buffers). */
const IGNORABLE = /\.rotary_emb\.inv_freq$/;

/** Every tensor name the architecture expects, with its shape; optional ones flagged. */
export function expectedTensors(c: ModelConfig, layout: TensorLayout): Map<string, { shape: number[]; optional?: boolean }> {
  const h = c.hiddenSize;
  const qd = c.qHeads * c.headDim;
  const kvd = c.kvHeads * c.headDim;
  const m = new Map<string, { shape: number[]; optional?: boolean }>();
  const p = layout.prefix;
  m.set(`${p}embed_tokens.weight`, { shape: [c.vocabSize, h] });
  m.set(`${p}norm.weight`, { shape: [h] });
  m.set(layout.lmHead, { shape: [c.vocabSize, h], optional: c.tieWordEmbeddings });
  for (let l = 0; l < c.numLayers; l++) {
    const L = `${p}layers.${l}.`;
    m.set(`${L}input_layernorm.weight`, { shape: [h] });
    m.set(`${L}post_attention_layernorm.weight`, { shape: [h] });
    for (const [n, out, inp] of [['q', qd, h], ['k', kvd, h], ['v', kvd, h], ['o', h, qd]] as const) {
      m.set(`${L}self_attn.${n}_proj.weight`, { shape: [out, inp] });
      if ((n !== 'o' && c.qkvBias) || (n === 'o' && c.oBias)) m.set(`${L}self_attn.${n}_proj.bias`, { shape: [out] });
    }
    for (const [n, out, inp] of [['gate', c.intermediateSize, h], ['up', c.intermediateSize, h], ['down', h, c.intermediateSize]] as const) {
      m.set(`${L}mlp.${n}_proj.weight`, { shape: [out, inp] });
      if (c.mlpBias) m.set(`${L}mlp.${n}_proj.bias`, { shape: [out] });
    }
  }
  for (const [mod, spec] of Object.entries(c.projectors)) {
    const P = `model.projectors.${mod}.`;
    m.set(`${P}linear_1.weight`, { shape: [h, spec.featureDim] });
    m.set(`${P}linear_1.bias`, { shape: [h] });
    m.set(`${P}linear_2.weight`, { shape: [h, h] });
    m.set(`${P}linear_2.bias`, { shape: [h] });
  }
  return m;
}

/** The layout whose embedding tensor the checkpoint holds. */
export function resolveLayout(c: ModelConfig, ckpt: Checkpoint, where: string): TensorLayout {
  const layout = c.layouts.find((l) => ckpt.has(`${l.prefix}embed_tokens.weight`));
  if (!layout) {
    const names = c.layouts.map((l) => `"${l.prefix}embed_tokens.weight"`).join(' or ');
    throw new Error(`${where}: tensor ${names} is missing (model_type ${c.modelType})`);
  }
  return layout;
}

/**
 * Checks names and shapes of the whole checkpoint against the architecture (headers only,
 * no tensor data read). Returns the layout and the expected table.
 */
export function checkTensors(c: ModelConfig, ckpt: Checkpoint, where: string): { layout: TensorLayout; expected: ReturnType<typeof expectedTensors> } {
  const layout = resolveLayout(c, ckpt, where);
  const expected = expectedTensors(c, layout);
  for (const [name, spec] of expected) {
    if (!ckpt.has(name)) {
      if (spec.optional) continue;
      throw new Error(`${where}: tensor "${name}" is missing (expected shape [${spec.shape.join(', ')}] for model_type ${c.modelType})`);
    }
    const e = ckpt.entry(name);
    if (e.shape.length !== spec.shape.length || e.shape.some((d, i) => d !== spec.shape[i])) {
      throw new Error(`${e.file}: tensor "${name}" has shape [${e.shape.join(', ')}]; expected [${spec.shape.join(', ')}]`);
    }
  }
  for (const name of ckpt.names()) {
    if (expected.has(name) || IGNORABLE.test(name) || c.foreignPrefixes.some((f) => name.startsWith(f))) continue;
    throw new Error(`${ckpt.entry(name).file}: unexpected tensor "${name}" (not part of a ${c.modelType} model with this config)`);
  }
  return { layout, expected };
}

/** Validates the checkpoint (checkTensors), then reads the weights. */
export function loadWeights(c: ModelConfig, ckpt: Checkpoint, where: string): ModelWeights {
  const { layout, expected } = checkTensors(c, ckpt, where);
  const lin = (name: string): LinearWeight => toLinear(ckpt.read(name));
  const vec = (name: string): Float32Array => toF32(ckpt.read(name));
  const opt = (name: string): Float32Array | undefined => (expected.has(name) ? vec(name) : undefined);
  const p = layout.prefix;
  const layers: LayerWeights[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    const L = `${p}layers.${l}.`;
    layers.push({
      inputNorm: vec(`${L}input_layernorm.weight`),
      postNorm: vec(`${L}post_attention_layernorm.weight`),
      q: lin(`${L}self_attn.q_proj.weight`),
      k: lin(`${L}self_attn.k_proj.weight`),
      v: lin(`${L}self_attn.v_proj.weight`),
      o: lin(`${L}self_attn.o_proj.weight`),
      qBias: opt(`${L}self_attn.q_proj.bias`),
      kBias: opt(`${L}self_attn.k_proj.bias`),
      vBias: opt(`${L}self_attn.v_proj.bias`),
      oBias: opt(`${L}self_attn.o_proj.bias`),
      gate: lin(`${L}mlp.gate_proj.weight`),
      up: lin(`${L}mlp.up_proj.weight`),
      down: lin(`${L}mlp.down_proj.weight`),
      gateBias: opt(`${L}mlp.gate_proj.bias`),
      upBias: opt(`${L}mlp.up_proj.bias`),
      downBias: opt(`${L}mlp.down_proj.bias`),
    });
  }
  const embed = lin(`${p}embed_tokens.weight`);
  const projectors: ModelWeights['projectors'] = {};
  for (const [mod, spec] of Object.entries(c.projectors)) {
    const P = `model.projectors.${mod}.`;
    projectors[mod as Modality] = {
      featureDim: spec.featureDim,
      linear1: lin(`${P}linear_1.weight`),
      bias1: vec(`${P}linear_1.bias`),
      linear2: lin(`${P}linear_2.weight`),
      bias2: vec(`${P}linear_2.bias`),
    };
  }
  return {
    embed,
    layers,
    norm: vec(`${p}norm.weight`),
    lmHead: ckpt.has(layout.lmHead) ? lin(layout.lmHead) : embed,
    projectors,
  };
}

const KV_DTYPE: Record<Tensor['dtype'], KVDType> = { F32: 'f32', F16: 'f16', BF16: 'bf16' };

/** A 2-D tensor [out][in] as a LinearWeight in its stored dtype. */
export function toLinear(t: Tensor): LinearWeight {
  return { dtype: KV_DTYPE[t.dtype], data: t.data, outFeatures: t.shape[0]!, inFeatures: t.shape[1]! };
}

export function toF32(t: Tensor): Float32Array {
  return t.dtype === 'F32' ? (t.data as Float32Array) : decodeToF32(t.data, KV_DTYPE[t.dtype], 0, t.data.length);
}
