/**
 * TypeScript reference of the model-side ops of ComputeBackend (linear, RMSNorm, RoPE,
 * SiLU×gate). Plain loops, f32 accumulation: the oracle the native kernels are tested
 * against, and the fallback when no addon is built.
 */
import type { LinearWeight } from './backend.js';
import { decodeToF32 } from '../util/half.js';

export function referenceLinear(x: Float32Array, m: number, w: LinearWeight, bias?: Float32Array, out?: Float32Array): Float32Array {
  const { inFeatures: k, outFeatures: n } = w;
  if (x.length < m * k) throw new RangeError(`linear: x has ${x.length} elements; expected m×in = ${m}×${k}`);
  if (w.data.length !== n * k) throw new RangeError(`linear: weight has ${w.data.length} elements; expected out×in = ${n}×${k}`);
  if (bias && bias.length !== n) throw new RangeError(`linear: bias has ${bias.length} elements; expected ${n}`);
  const y = out ?? new Float32Array(m * n);
  const row = new Float32Array(k);
  for (let o = 0; o < n; o++) {
    const wr = w.dtype === 'f32' ? (w.data as Float32Array).subarray(o * k, o * k + k) : decodeToF32(w.data, w.dtype, o * k, k, row);
    const b = bias ? bias[o]! : 0;
    for (let r = 0; r < m; r++) {
      let acc = 0;
      const xo = r * k;
      for (let i = 0; i < k; i++) acc += x[xo + i]! * wr[i]!;
      y[r * n + o] = acc + b;
    }
  }
  return y;
}

export function referenceRmsNorm(x: Float32Array, rows: number, dim: number, weight: Float32Array, eps: number, out?: Float32Array): Float32Array {
  if (weight.length !== dim) throw new RangeError(`rmsNorm: weight has ${weight.length} elements; expected ${dim}`);
  const y = out ?? new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += x[r * dim + i]! * x[r * dim + i]!;
    const inv = 1 / Math.sqrt(ss / dim + eps);
    for (let i = 0; i < dim; i++) y[r * dim + i] = x[r * dim + i]! * inv * weight[i]!;
  }
  return y;
}

export function referenceRope(x: Float32Array, n: number, heads: number, headDim: number, rotaryDim: number, cos: Float32Array, sin: Float32Array): void {
  const half = rotaryDim >> 1;
  if (rotaryDim % 2 !== 0 || rotaryDim > headDim) throw new RangeError(`rope: rotaryDim ${rotaryDim} must be even and ≤ headDim ${headDim}`);
  if (cos.length < n * half || sin.length < n * half) throw new RangeError(`rope: cos/sin need n×rotaryDim/2 = ${n * half} entries`);
  for (let t = 0; t < n; t++) {
    for (let h = 0; h < heads; h++) {
      const base = (t * heads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const c = cos[t * half + i]!;
        const s = sin[t * half + i]!;
        const a = x[base + i]!;
        const b = x[base + i + half]!;
        x[base + i] = a * c - b * s;
        x[base + i + half] = b * c + a * s;
      }
    }
  }
}

export function referenceSiluMul(gate: Float32Array, up: Float32Array, out?: Float32Array): Float32Array {
  if (gate.length !== up.length) throw new RangeError(`siluMul: gate has ${gate.length} elements, up has ${up.length}`);
  const y = out ?? new Float32Array(gate.length);
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i]!;
    y[i] = (g / (1 + Math.exp(-g))) * up[i]!;
  }
  return y;
}
