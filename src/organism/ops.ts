/**
 * Elementwise pieces of the organism's forward and backward passes, over row-major f32
 * buffers ([rows][dim]). Forward linear algebra lives in ort-kernels.ts; RoPE and SiLU×gate
 * forwards reuse the project's reference ops.
 */
import { referenceRope } from '../attention/reference-ops.js';

/** y = x / rms(x) · w per row; returns y and the per-row 1/rms (kept for backward). */
export function rmsNormForward(x: Float32Array, rows: number, dim: number, w: Float32Array, eps: number): { y: Float32Array; inv: Float32Array } {
  const y = new Float32Array(rows * dim);
  const inv = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += x[o + i]! * x[o + i]!;
    const s = 1 / Math.sqrt(ss / dim + eps);
    inv[r] = s;
    for (let i = 0; i < dim; i++) y[o + i] = x[o + i]! * s * w[i]!;
  }
  return { y, inv };
}

/** Gradient of rmsNormForward: returns dx, accumulates dw. */
export function rmsNormBackward(dy: Float32Array, x: Float32Array, inv: Float32Array, rows: number, dim: number, w: Float32Array, dw: Float32Array): Float32Array {
  const dx = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    const s = inv[r]!;
    let dot = 0;
    for (let i = 0; i < dim; i++) {
      dot += dy[o + i]! * w[i]! * x[o + i]!;
      dw[i] += dy[o + i]! * x[o + i]! * s;
    }
    const c = (s * s * s * dot) / dim;
    for (let i = 0; i < dim; i++) dx[o + i] = s * w[i]! * dy[o + i]! - c * x[o + i]!;
  }
  return dx;
}

/** cos/sin tables [n][headDim/2] for RoPE at positions 0..n-1 (HF rotate-half). */
export function ropeTables(n: number, headDim: number, theta: number): { cos: Float32Array; sin: Float32Array; negSin: Float32Array } {
  const half = headDim / 2;
  const cos = new Float32Array(n * half);
  const sin = new Float32Array(n * half);
  for (let t = 0; t < n; t++) {
    for (let i = 0; i < half; i++) {
      const a = t * theta ** (-(2 * i) / headDim);
      cos[t * half + i] = Math.cos(a);
      sin[t * half + i] = Math.sin(a);
    }
  }
  return { cos, sin, negSin: sin.map((v) => -v) };
}

/**
 * Rotates x [B·n][heads][headDim] in place, each of the B sequences from position 0.
 * With `sin` negated this is the inverse rotation, i.e. the backward pass.
 */
export function ropeBatch(x: Float32Array, batch: number, n: number, heads: number, headDim: number, cos: Float32Array, sin: Float32Array): void {
  const stride = n * heads * headDim;
  for (let b = 0; b < batch; b++) referenceRope(x.subarray(b * stride, (b + 1) * stride), n, heads, headDim, headDim, cos, sin);
}

const sigmoid = (g: number): number => 1 / (1 + Math.exp(-g));

/** Gradient of silu(g)·u: returns dg and du. */
export function siluMulBackward(da: Float32Array, g: Float32Array, u: Float32Array): { dg: Float32Array; du: Float32Array } {
  const dg = new Float32Array(g.length);
  const du = new Float32Array(g.length);
  for (let i = 0; i < g.length; i++) {
    const s = sigmoid(g[i]!);
    du[i] = da[i]! * g[i]! * s;
    dg[i] = da[i]! * u[i]! * s * (1 + g[i]! * (1 - s));
  }
  return { dg, du };
}

const GELU_C = Math.sqrt(2 / Math.PI);

/** GELU, tanh approximation (HF "gelu_pytorch_tanh"). */
export function geluForward(x: Float32Array): Float32Array {
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    y[i] = 0.5 * v * (1 + Math.tanh(GELU_C * (v + 0.044715 * v * v * v)));
  }
  return y;
}

export function geluBackward(dy: Float32Array, x: Float32Array): Float32Array {
  const dx = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    const t = Math.tanh(GELU_C * (v + 0.044715 * v * v * v));
    dx[i] = dy[i]! * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * GELU_C * (1 + 3 * 0.044715 * v * v));
  }
  return dx;
}

/** Adds a per-column bias [cols] to y [rows][cols] in place. */
export function addBias(y: Float32Array, bias: Float32Array): void {
  const cols = bias.length;
  for (let i = 0; i < y.length; i++) y[i] += bias[i % cols]!;
}

/** GQA: kv [rows][kvHeads][d] → [rows][heads][d], KV head j serving query heads j·G … j·G+G−1 (HF repeat_kv). */
export function expandKv(kv: Float32Array, rows: number, kvHeads: number, heads: number, d: number): Float32Array {
  const G = heads / kvHeads;
  const out = new Float32Array(rows * heads * d);
  for (let r = 0; r < rows; r++) {
    for (let h = 0; h < heads; h++) out.set(kv.subarray((r * kvHeads + Math.floor(h / G)) * d, (r * kvHeads + Math.floor(h / G) + 1) * d), (r * heads + h) * d);
  }
  return out;
}

/** Backward of expandKv: sums each group's gradients into its KV head. */
export function reduceKv(g: Float32Array, rows: number, kvHeads: number, heads: number, d: number): Float32Array {
  const G = heads / kvHeads;
  const out = new Float32Array(rows * kvHeads * d);
  for (let r = 0; r < rows; r++) {
    for (let h = 0; h < heads; h++) {
      const src = (r * heads + h) * d;
      const dst = (r * kvHeads + Math.floor(h / G)) * d;
      for (let i = 0; i < d; i++) out[dst + i] += g[src + i]!;
    }
  }
  return out;
}

export function addInto(acc: Float32Array, x: Float32Array): void {
  for (let i = 0; i < acc.length; i++) acc[i] += x[i]!;
}
