/**
 * Parameters of the organism as named f32 tensors with HF Llama names, plus their init.
 * Linear weights are [out][in] row-major, as in HF / safetensors.
 */
import type { OrganismConfig } from './config.js';

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

export type Params = Map<string, Tensor>;

export const MEDIA = ['video', 'audio'] as const;
export type Media = (typeof MEDIA)[number];

export const layerName = (l: number, w: string): string => `model.layers.${l}.${w}`;
export const projName = (m: Media, w: string): string => `model.projectors.${m}.${w}`;

/** Every tensor name and shape of the architecture, in a stable order. */
export function paramShapes(c: OrganismConfig): Array<[string, number[]]> {
  const D = c.hidden;
  const out: Array<[string, number[]]> = [['model.embed_tokens.weight', [c.vocab, D]]];
  for (const m of MEDIA) {
    const F = m === 'video' ? c.videoFeatureDim : c.audioFeatureDim;
    out.push([projName(m, 'linear_1.weight'), [D, F]], [projName(m, 'linear_1.bias'), [D]]);
    out.push([projName(m, 'linear_2.weight'), [D, D]], [projName(m, 'linear_2.bias'), [D]]);
  }
  for (let l = 0; l < c.layers; l++) {
    out.push([layerName(l, 'input_layernorm.weight'), [D]]);
    out.push([layerName(l, 'self_attn.q_proj.weight'), [c.heads * c.headDim, D]]);
    out.push([layerName(l, 'self_attn.k_proj.weight'), [c.kvHeads * c.headDim, D]]);
    out.push([layerName(l, 'self_attn.v_proj.weight'), [c.kvHeads * c.headDim, D]]);
    out.push([layerName(l, 'self_attn.o_proj.weight'), [D, c.heads * c.headDim]]);
    out.push([layerName(l, 'post_attention_layernorm.weight'), [D]]);
    out.push([layerName(l, 'mlp.gate_proj.weight'), [c.intermediate, D]]);
    out.push([layerName(l, 'mlp.up_proj.weight'), [c.intermediate, D]]);
    out.push([layerName(l, 'mlp.down_proj.weight'), [D, c.intermediate]]);
  }
  out.push(['model.norm.weight', [D]], ['lm_head.weight', [c.vocab, D]]);
  return out;
}

/**
 * Optional training-only tensor: a head of its own for the dense media labels (aux targets),
 * not part of the saved model. Off by default: with aux labels on lm_head, what an answer
 * row copies from a media token is already readable by lm_head, and that shortcut is what
 * lets the answer readout start (with a separate head the answers stayed at their family
 * priors for 700 steps; measured while building the organism).
 */
export const AUX_HEAD = 'aux_head.weight';

/** Training-only readout probe of the answer head (see readout-probe.ts). */
export const READOUT_PROBE = 'readout_probe.weight';
/** Training-only probe of the question head: which attribute words a question asks (see train.ts). */
export const QUESTION_PROBE = 'question_probe.weight';
export const TRAINING_ONLY: readonly string[] = [AUX_HEAD, READOUT_PROBE, QUESTION_PROBE];

export interface TrainingTensors {
  auxHead?: boolean;
  readoutProbe?: boolean;
  questionProbe?: boolean;
}

export function trainingParamShapes(c: OrganismConfig, opts: TrainingTensors = { auxHead: true, readoutProbe: true, questionProbe: true }): Array<[string, number[]]> {
  const out = paramShapes(c);
  if (opts.auxHead) out.push([AUX_HEAD, [c.vocab, c.hidden]]);
  if (opts.readoutProbe) out.push([READOUT_PROBE, [c.vocab, c.headDim]]);
  if (opts.questionProbe) out.push([QUESTION_PROBE, [c.vocab, c.headDim]]);
  return out;
}

export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Zero tensors of every parameter's shape (gradient and optimizer buffers). */
export function zerosLike(p: Params): Params {
  const out: Params = new Map();
  for (const [k, t] of p) out.set(k, { shape: t.shape, data: new Float32Array(t.data.length) });
  return out;
}

/**
 * Init: norms 1, biases 0, weights N(0, σ²): σ = 0.02 in the decoder (residual outputs
 * o_proj/down_proj scaled by 1/√(2L), GPT-2 style), embeddings 0.5 and the projectors'
 * first layer 1/√F so that projected media and text embeddings start at similar scales.
 */
export function initParams(c: OrganismConfig, normal: () => number, opts: TrainingTensors = {}): Params {
  const p: Params = new Map();
  for (const [name, shape] of trainingParamShapes(c, opts)) {
    const data = new Float32Array(numel(shape));
    let std = 0.02;
    if (name.endsWith('layernorm.weight') || name === 'model.norm.weight') data.fill(1);
    else if (name.endsWith('.bias')) std = 0;
    else if (name.includes('embed_tokens')) std = 0.5;
    else if (name.includes('linear_1')) std = 1 / Math.sqrt(shape[1]!);
    else if (name.includes('linear_2')) std = 0.5 / Math.sqrt(shape[1]!);
    else if (name.includes('o_proj') || name.includes('down_proj')) std = 0.02 / Math.sqrt(2 * c.layers);
    if (std > 0 && !name.endsWith('layernorm.weight')) for (let i = 0; i < data.length; i++) data[i] = std * normal();
    p.set(name, { shape, data });
  }
  return p;
}

export function getParam(p: Params, name: string): Float32Array {
  const t = p.get(name);
  if (!t) throw new RangeError(`organism parameter "${name}" is missing`);
  return t.data;
}
