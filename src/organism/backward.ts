/**
 * Hand-written backward pass of the organism (the exact adjoint of forward.ts), from the
 * logits' gradient at the target rows to every parameter. Gradients accumulate into `grads`.
 */
import { AUX_HEAD, getParam, layerName, projName, type Params, type Media } from './params.js';
import { readoutProbe, type ProbeResult, type ProbeRows } from './readout-probe.js';
import type { Batch } from './sequence.js';
import type { OrtKernels } from './ort-kernels.js';
import { cachedCausalMask, cachedRope, gatherRows, headRows, scatterRows, type ForwardResult, type Organism } from './forward.js';
import { superviseAttention, type AttentionSupervisionResult, type SupervisedRow } from './attention-supervision.js';
import { addInto, geluBackward, reduceKv, rmsNormBackward, ropeBatch, siluMulBackward } from './ops.js';

async function linearBackward(k: OrtKernels, dy: Float32Array, x: Float32Array, rows: number, w: Float32Array, out: number, inp: number, dw: Float32Array): Promise<Float32Array> {
  addInto(dw, await k.linearWeightGrad(dy, x, rows, out, inp));
  return k.linearInputGrad(dy, rows, w, out, inp);
}

/** Attention supervision of one head of one layer (see attention-supervision.ts). */
export interface HeadSupervision {
  /** Name in the training log ("answer h0", "bind", …). */
  name: string;
  layer: number;
  head: number;
  weight: number;
  rows: SupervisedRow[];
}

/** A training-only linear probe of one layer's head outputs at some rows, each row reading its own head (see readout-probe.ts). */
export interface HeadProbe extends ProbeRows {
  /** Its [vocab][headDim] matrix among the training-only tensors (READOUT_PROBE, QUESTION_PROBE). */
  param: string;
  layer: number;
  weight: number;
}

/** Returns the attention-supervision results, one per entry of `supervise`, and the probes' (same order as `probes`). */
export async function backward(k: OrtKernels, model: Organism, b: Batch, f: ForwardResult, dlogits: Float32Array, grads: Params, supervise: readonly HeadSupervision[] = [], probes: readonly HeadProbe[] = []): Promise<AttentionSupervisionResult[] & { probes: ProbeResult[] }> {
  const results: AttentionSupervisionResult[] & { probes: ProbeResult[] } = Object.assign(supervise.map(() => ({ loss: 0, mass: 0 })), { probes: probes.map(() => ({ loss: 0, accuracy: 0 })) });
  const c = model.config;
  const { hidden: D, heads: H, kvHeads: Hk, headDim: d, intermediate: I } = c;
  const M = f.M;
  const p = model.params;
  const g = (name: string) => getParam(grads, name);
  const R = b.targets.length;

  // LM head and final norm (only target rows carry gradient).
  const hRows = new Float32Array(R * D);
  b.targets.forEach((t, i) => hRows.set(f.hF.subarray(t.row * D, (t.row + 1) * D), i * D));
  const dhRows = new Float32Array(R * D);
  const rows = headRows(b.targets, p);
  for (const [name, idx] of [['lm_head.weight', rows.lm], [AUX_HEAD, rows.aux]] as const) {
    if (idx.length === 0) continue;
    const dh = await linearBackward(k, gatherRows(dlogits, idx, c.vocab), gatherRows(hRows, idx, D), idx.length, getParam(p, name), c.vocab, D, g(name));
    scatterRows(dh, idx, D, dhRows);
  }
  const dhF = new Float32Array(M * D);
  b.targets.forEach((t, i) => {
    for (let j = 0; j < D; j++) dhF[t.row * D + j] += dhRows[i * D + j]!;
  });
  let dx = rmsNormBackward(dhF, f.xL, f.invF, M, D, getParam(p, 'model.norm.weight'), g('model.norm.weight'));

  const rope = cachedRope(b.n, d, c.ropeTheta);
  const scale = 1 / Math.sqrt(d);
  const dims = [b.batch, b.n, H, d];
  const mask = cachedCausalMask(b.n);
  for (let l = c.layers - 1; l >= 0; l--) {
    const a = f.layers[l]!;
    const w = (name: string) => getParam(p, layerName(l, name));
    const gw = (name: string) => g(layerName(l, name));
    // MLP: x3 = x2 + down(silu(gate(h2)) · up(h2)).
    const da = await linearBackward(k, dx, a.a, M, w('mlp.down_proj.weight'), D, I, gw('mlp.down_proj.weight'));
    const { dg, du } = siluMulBackward(da, a.g, a.u);
    const dh2 = await linearBackward(k, dg, a.h2, M, w('mlp.gate_proj.weight'), I, D, gw('mlp.gate_proj.weight'));
    addInto(dh2, await linearBackward(k, du, a.h2, M, w('mlp.up_proj.weight'), I, D, gw('mlp.up_proj.weight')));
    const dx2 = rmsNormBackward(dh2, a.x2, a.inv2, M, D, w('post_attention_layernorm.weight'), gw('post_attention_layernorm.weight'));
    addInto(dx2, dx);
    // Attention: x2 = x + o_proj(attn(rope(q)·scale, rope(k), v)).
    const dout = await linearBackward(k, dx2, a.o, M, w('self_attn.o_proj.weight'), D, H * d, gw('self_attn.o_proj.weight'));
    probes.forEach((pr, i) => {
      if (pr.layer === l) results.probes[i] = readoutProbe(a.o, H, d, getParam(p, pr.param), c.vocab, pr, pr.weight, dout, g(pr.param));
    });
    const ab = await k.attentionBackward(a.q, a.k, a.v, mask, dout, dims, [1, 1, b.n, b.n]);
    supervise.forEach((s, i) => {
      if (s.layer === l) results[i] = superviseAttention(a.q, a.k, b.n, H, d, s.head, s.rows, s.weight, ab.dq, ab.dk);
    });
    const dq = ab.dq;
    for (let i = 0; i < dq.length; i++) dq[i] *= scale;
    const dk = reduceKv(ab.dk, M, Hk, H, d);
    const dv = reduceKv(ab.dv, M, Hk, H, d);
    ropeBatch(dq, b.batch, b.n, H, d, rope.cos, rope.negSin);
    ropeBatch(dk, b.batch, b.n, Hk, d, rope.cos, rope.negSin);
    const dh = await linearBackward(k, dq, a.h, M, w('self_attn.q_proj.weight'), H * d, D, gw('self_attn.q_proj.weight'));
    addInto(dh, await linearBackward(k, dk, a.h, M, w('self_attn.k_proj.weight'), Hk * d, D, gw('self_attn.k_proj.weight')));
    addInto(dh, await linearBackward(k, dv, a.h, M, w('self_attn.v_proj.weight'), Hk * d, D, gw('self_attn.v_proj.weight')));
    dx = rmsNormBackward(dh, a.x, a.inv1, M, D, w('input_layernorm.weight'), gw('input_layernorm.weight'));
    addInto(dx, dx2);
  }

  // Embeddings: text rows into embed_tokens, media rows through their projectors.
  const dE = g('model.embed_tokens.weight');
  for (let r = 0; r < M; r++) {
    const id = b.ids[r]!;
    if (id < 0) continue;
    for (let j = 0; j < D; j++) dE[id * D + j] += dx[r * D + j]!;
  }
  for (const m of ['video', 'audio'] as Media[]) {
    const rows = m === 'video' ? b.videoRows : b.audioRows;
    if (rows.length === 0) continue;
    const feat = m === 'video' ? b.videoFeat : b.audioFeat;
    const F = m === 'video' ? c.videoFeatureDim : c.audioFeatureDim;
    const dOut = new Float32Array(rows.length * D);
    rows.forEach((r, i) => dOut.set(dx.subarray(r * D, (r + 1) * D), i * D));
    const pa = f.projectors[m];
    const db2 = g(projName(m, 'linear_2.bias'));
    const db1 = g(projName(m, 'linear_1.bias'));
    for (let i = 0; i < dOut.length; i++) db2[i % D] += dOut[i]!;
    const dg1 = await linearBackward(k, dOut, pa.g1, rows.length, getParam(p, projName(m, 'linear_2.weight')), D, D, g(projName(m, 'linear_2.weight')));
    const dz1 = geluBackward(dg1, pa.z1);
    for (let i = 0; i < dz1.length; i++) db1[i % D] += dz1[i]!;
    addInto(g(projName(m, 'linear_1.weight')), await k.linearWeightGrad(dz1, feat, rows.length, D, F));
  }
  return results;
}
