/**
 * Small element-wise and reshaping ops the towers need beyond the ComputeBackend seam
 * (LayerNorm with bias, exact and quick GELU, 1-D convolution lowered to a GEMM, pooling).
 * Plain TypeScript loops in f32 storage with f64 accumulation; the GEMMs themselves go
 * through `backend.linear`.
 */
import type { ComputeBackend, LinearWeight } from '../../attention/backend.js';

/** out[r][:] = (x[r] − mean) / sqrt(var + eps) · weight + bias; x: [rows][dim] f32. */
export function layerNorm(x: Float32Array, rows: number, dim: number, weight: Float32Array, bias: Float32Array, eps: number, out?: Float32Array): Float32Array {
  if (weight.length !== dim || bias.length !== dim) throw new RangeError(`layerNorm: weight/bias have ${weight.length}/${bias.length} elements; expected ${dim}`);
  const y = out ?? new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let mean = 0;
    for (let i = 0; i < dim; i++) mean += x[o + i]!;
    mean /= dim;
    let v = 0;
    for (let i = 0; i < dim; i++) v += (x[o + i]! - mean) ** 2;
    const inv = 1 / Math.sqrt(v / dim + eps);
    for (let i = 0; i < dim; i++) y[o + i] = (x[o + i]! - mean) * inv * weight[i]! + bias[i]!;
  }
  return y;
}

/**
 * erf(x) with |error| < 1.2e-7 (Chebyshev fit of erfc, Numerical Recipes §6.2): well below
 * f32 resolution of GELU outputs.
 */
export function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const erfc = t * Math.exp(poly);
  return x >= 0 ? 1 - erfc : erfc - 1;
}

/** In place: x ← x · Φ(x) (exact GELU, torch's default `nn.GELU()` / `F.gelu`). */
export function geluInPlace(x: Float32Array): Float32Array {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    x[i] = 0.5 * v * (1 + erf(v / Math.SQRT2));
  }
  return x;
}

/** In place: x ← x · sigmoid(1.702 x) (transformers' QuickGELUActivation). */
export function quickGeluInPlace(x: Float32Array): Float32Array {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    x[i] = v / (1 + Math.exp(-1.702 * v));
  }
  return x;
}

export function addInPlace(x: Float32Array, y: Float32Array): void {
  if (x.length !== y.length) throw new RangeError(`addInPlace: lengths ${x.length} and ${y.length} differ`);
  for (let i = 0; i < x.length; i++) x[i]! += y[i]!;
}

/** Output length of a 1-D convolution: floor((len + 2·pad − kernel) / stride) + 1. */
export function convOutLength(len: number, kernel: number, stride: number, pad: number): number {
  return Math.floor((len + 2 * pad - kernel) / stride) + 1;
}

/**
 * 1-D convolution as one GEMM (im2col): x is token-major [len][inCh] f32; the weight is the
 * HF Conv1d weight [outCh][inCh][kernel] seen as a LinearWeight [outCh][inCh·kernel]; zero
 * padding `pad` on both sides. Returns [outLen][outCh] f32.
 */
export function conv1d(backend: ComputeBackend, x: Float32Array, len: number, inCh: number, w: LinearWeight, bias: Float32Array, kernel: number, stride: number, pad: number): Float32Array {
  if (w.inFeatures !== inCh * kernel) throw new RangeError(`conv1d: weight has ${w.inFeatures} inputs per output; expected inCh×kernel = ${inCh}×${kernel}`);
  const outLen = convOutLength(len, kernel, stride, pad);
  const cols = new Float32Array(outLen * inCh * kernel);
  for (let j = 0; j < outLen; j++) {
    const row = j * inCh * kernel;
    for (let k = 0; k < kernel; k++) {
      const t = j * stride + k - pad;
      if (t < 0 || t >= len) continue;
      for (let c = 0; c < inCh; c++) cols[row + c * kernel + k] = x[t * inCh + c]!;
    }
  }
  return backend.linear(cols, outLen, w, bias);
}

/** Average of each pair of consecutive rows (torch AvgPool1d(2, stride 2); an odd last row is dropped). */
export function avgPoolPairs(x: Float32Array, rows: number, dim: number): Float32Array {
  const outRows = rows >> 1;
  const y = new Float32Array(outRows * dim);
  for (let r = 0; r < outRows; r++) {
    for (let i = 0; i < dim; i++) y[r * dim + i] = (x[2 * r * dim + i]! + x[(2 * r + 1) * dim + i]!) / 2;
  }
  return y;
}
