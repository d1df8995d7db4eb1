/**
 * Organism forward pass over a batch of sequences, keeping the activations the backward
 * pass needs. Shapes: M = batch·n rows; hidden D; q [M][H][d]; k, v expanded to [M][H][d].
 * The math is the HF Llama forward (pre-norm, RoPE rotate-half at position = index in the
 * prompt, GQA, SwiGLU) with media rows embedded by linear→GELU(tanh)→linear projectors.
 */
import type { OrganismConfig } from './config.js';
import { AUX_HEAD, getParam, layerName, projName, type Params, type Media } from './params.js';
import type { Batch } from './sequence.js';
import { OrtKernels, causalMask } from './ort-kernels.js';
import { addBias, addInto, expandKv, geluForward, rmsNormForward, ropeBatch, ropeTables } from './ops.js';
import { referenceSiluMul } from '../attention/reference-ops.js';

export interface Organism {
  config: OrganismConfig;
  params: Params;
}

export interface LayerActs {
  x: Float32Array; inv1: Float32Array; h: Float32Array;
  q: Float32Array; k: Float32Array; v: Float32Array; o: Float32Array;
  x2: Float32Array; inv2: Float32Array; h2: Float32Array;
  g: Float32Array; u: Float32Array; a: Float32Array;
}

export interface ProjectorActs { z1: Float32Array; g1: Float32Array }

export interface ForwardResult {
  M: number;
  layers: LayerActs[];
  projectors: Record<Media, ProjectorActs>;
  xL: Float32Array; invF: Float32Array; hF: Float32Array;
  /** [targets][vocab] next-token logits at the batch's target rows. */
  logits: Float32Array;
  /** Per layer attention probabilities [B][H][n][n] when asked. */
  probs?: Float32Array[];
}

export interface ForwardOptions {
  /** Per-layer additive attention mask and its dims [mB][mH][n][n] (default: causal). */
  mask?: (layer: number) => { mask: Float32Array; dims: number[] };
  withProbs?: boolean;
}

const tableCache = new Map<string, ReturnType<typeof ropeTables>>();
export function cachedRope(n: number, headDim: number, theta: number): ReturnType<typeof ropeTables> {
  const key = `${n}/${headDim}/${theta}`;
  let t = tableCache.get(key);
  if (!t) {
    if (tableCache.size > 64) tableCache.clear();
    t = ropeTables(n, headDim, theta);
    tableCache.set(key, t);
  }
  return t;
}
const maskCache = new Map<number, Float32Array>();
export function cachedCausalMask(n: number): Float32Array {
  let m = maskCache.get(n);
  if (!m) {
    if (maskCache.size > 16) maskCache.clear();
    m = causalMask(n);
    maskCache.set(n, m);
  }
  return m;
}

async function project(k: OrtKernels, p: Params, m: Media, feat: Float32Array, rows: number, F: number, D: number): Promise<{ out: Float32Array; acts: ProjectorActs }> {
  if (rows === 0) return { out: new Float32Array(0), acts: { z1: new Float32Array(0), g1: new Float32Array(0) } };
  const z1 = await k.linear(feat, rows, getParam(p, projName(m, 'linear_1.weight')), D, F);
  addBias(z1, getParam(p, projName(m, 'linear_1.bias')));
  const g1 = geluForward(z1);
  const out = await k.linear(g1, rows, getParam(p, projName(m, 'linear_2.weight')), D, D);
  addBias(out, getParam(p, projName(m, 'linear_2.bias')));
  return { out, acts: { z1, g1 } };
}

/** Embeds every row: text ids through embed_tokens, media rows through their projector. */
async function embed(k: OrtKernels, model: Organism, b: Batch): Promise<{ x: Float32Array; projectors: Record<Media, ProjectorActs> }> {
  const c = model.config;
  const D = c.hidden;
  const M = b.batch * b.n;
  const x = new Float32Array(M * D);
  const E = getParam(model.params, 'model.embed_tokens.weight');
  for (let r = 0; r < M; r++) {
    const id = b.ids[r]!;
    if (id >= 0) x.set(E.subarray(id * D, (id + 1) * D), r * D);
  }
  const v = await project(k, model.params, 'video', b.videoFeat, b.videoRows.length, c.videoFeatureDim, D);
  const a = await project(k, model.params, 'audio', b.audioFeat, b.audioRows.length, c.audioFeatureDim, D);
  b.videoRows.forEach((r, i) => x.set(v.out.subarray(i * D, (i + 1) * D), r * D));
  b.audioRows.forEach((r, i) => x.set(a.out.subarray(i * D, (i + 1) * D), r * D));
  return { x, projectors: { video: v.acts, audio: a.acts } };
}

export async function forward(k: OrtKernels, model: Organism, b: Batch, opts: ForwardOptions = {}): Promise<ForwardResult> {
  const c = model.config;
  const { hidden: D, heads: H, kvHeads: Hk, headDim: d, intermediate: I } = c;
  const M = b.batch * b.n;
  const p = model.params;
  const rope = cachedRope(b.n, d, c.ropeTheta);
  const scale = 1 / Math.sqrt(d);
  const dims = [b.batch, b.n, H, d];
  let { x, projectors } = await embed(k, model, b);
  const layers: LayerActs[] = [];
  const probs: Float32Array[] = [];
  for (let l = 0; l < c.layers; l++) {
    const w = (name: string) => getParam(p, layerName(l, name));
    const { y: h, inv: inv1 } = rmsNormForward(x, M, D, w('input_layernorm.weight'), c.rmsEps);
    const q = await k.linear(h, M, w('self_attn.q_proj.weight'), H * d, D);
    const kk = await k.linear(h, M, w('self_attn.k_proj.weight'), Hk * d, D);
    const vv = await k.linear(h, M, w('self_attn.v_proj.weight'), Hk * d, D);
    ropeBatch(q, b.batch, b.n, H, d, rope.cos, rope.sin);
    ropeBatch(kk, b.batch, b.n, Hk, d, rope.cos, rope.sin);
    for (let i = 0; i < q.length; i++) q[i] *= scale;
    const ke = expandKv(kk, M, Hk, H, d);
    const ve = expandKv(vv, M, Hk, H, d);
    const m = opts.mask?.(l) ?? { mask: cachedCausalMask(b.n), dims: [1, 1, b.n, b.n] };
    const att = await k.attention(q, ke, ve, m.mask, dims, m.dims, opts.withProbs);
    if (att.p) probs.push(att.p);
    const x2 = await k.linear(att.o, M, w('self_attn.o_proj.weight'), D, H * d);
    addInto(x2, x);
    const { y: h2, inv: inv2 } = rmsNormForward(x2, M, D, w('post_attention_layernorm.weight'), c.rmsEps);
    const g = await k.linear(h2, M, w('mlp.gate_proj.weight'), I, D);
    const u = await k.linear(h2, M, w('mlp.up_proj.weight'), I, D);
    const a = referenceSiluMul(g, u);
    const x3 = await k.linear(a, M, w('mlp.down_proj.weight'), D, I);
    addInto(x3, x2);
    layers.push({ x, inv1, h, q, k: ke, v: ve, o: att.o, x2, inv2, h2, g, u, a });
    x = x3;
  }
  const { y: hF, inv: invF } = rmsNormForward(x, M, D, getParam(p, 'model.norm.weight'), c.rmsEps);
  const R = b.targets.length;
  const hRows = new Float32Array(R * D);
  b.targets.forEach((t, i) => hRows.set(hF.subarray(t.row * D, (t.row + 1) * D), i * D));
  const logits = await headLogits(k, model, hRows, b.targets);
  return { M, layers, projectors, xL: x, invF, hF, logits, probs: opts.withProbs ? probs : undefined };
}

/** Rows of `targets` that use each head: answers the LM head, aux targets the aux head if the model has one. */
export function headRows(targets: readonly { aux?: boolean }[], params: Params): { lm: number[]; aux: number[] } {
  const lm: number[] = [];
  const aux: number[] = [];
  const separate = params.has(AUX_HEAD);
  targets.forEach((t, i) => (t.aux && separate ? aux : lm).push(i));
  return { lm, aux };
}

export function gatherRows(x: Float32Array, rows: readonly number[], dim: number): Float32Array {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => out.set(x.subarray(r * dim, (r + 1) * dim), i * dim));
  return out;
}

export function scatterRows(src: Float32Array, rows: readonly number[], dim: number, out: Float32Array): void {
  rows.forEach((r, i) => out.set(src.subarray(i * dim, (i + 1) * dim), r * dim));
}

async function headLogits(k: OrtKernels, model: Organism, hRows: Float32Array, targets: readonly { aux?: boolean }[]): Promise<Float32Array> {
  const { hidden: D, vocab: V } = model.config;
  const logits = new Float32Array(targets.length * V);
  const rows = headRows(targets, model.params);
  for (const [name, idx] of [['lm_head.weight', rows.lm], [AUX_HEAD, rows.aux]] as const) {
    if (idx.length === 0) continue;
    scatterRows(await k.linear(gatherRows(hRows, idx, D), idx.length, getParam(model.params, name), V, D), idx, V, logits);
  }
  return logits;
}

/**
 * Cross-entropy and its gradient w.r.t. the logits. Answer targets weigh 1 each; auxiliary
 * targets together weigh `auxWeight` × the answers' total. loss/correct count answers only;
 * `total` is the weighted objective whose gradient dlogits is; `hits` says, per answer target
 * in order, whether its top logit is the label.
 */
export function crossEntropy(logits: Float32Array, targets: readonly { label: number; aux?: boolean }[], vocab: number, auxWeight = 0): { loss: number; total: number; dlogits: Float32Array; correct: number; answers: number; hits: boolean[] } {
  const R = targets.length;
  const dl = new Float32Array(logits.length);
  const nAux = targets.filter((t) => t.aux).length;
  const nAns = R - nAux;
  const auxEach = nAux > 0 ? (auxWeight * Math.max(1, nAns)) / nAux : 0;
  const total = nAns + auxEach * nAux;
  let loss = 0;
  let weighted = 0;
  let correct = 0;
  const hits: boolean[] = [];
  for (let r = 0; r < R; r++) {
    const o = r * vocab;
    let mx = -Infinity;
    let arg = 0;
    for (let j = 0; j < vocab; j++) if (logits[o + j]! > mx) { mx = logits[o + j]!; arg = j; }
    let s = 0;
    for (let j = 0; j < vocab; j++) s += Math.exp(logits[o + j]! - mx);
    const { label, aux } = targets[r]!;
    const w = (aux ? auxEach : 1) / Math.max(1e-12, total);
    weighted += -w * (logits[o + label]! - mx - Math.log(s));
    if (!aux) {
      loss += -(logits[o + label]! - mx - Math.log(s));
      if (arg === label) correct++;
      hits.push(arg === label);
    }
    for (let j = 0; j < vocab; j++) dl[o + j] = (w * Math.exp(logits[o + j]! - mx)) / s;
    dl[o + label] -= w;
  }
  return { loss: nAns > 0 ? loss / nAns : 0, total: weighted, dlogits: dl, correct, answers: nAns, hits };
}
