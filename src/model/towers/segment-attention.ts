/**
 * Bidirectional attention within segments (transformers' `cu_seqlens`: one image frame, one
 * window, one audio chunk), on the backend's attention kernel. Every slot and query gets
 * position 0, so the kernel's causal rule (slot visible iff its position ≤ the query's) lets
 * each query see the whole segment and nothing else.
 */
import type { ComputeBackend, KVLayout } from '../../attention/backend.js';

const NO_STATS = {};

/**
 * q, k, v: [n][heads][headDim] f32 (token-major, RoPE applied to q and k); cuSeqlens:
 * segment boundaries [0, …, n] (empty segments allowed). Returns [n][heads][headDim] f32.
 */
export function attendSegments(backend: ComputeBackend, q: Float32Array, k: Float32Array, v: Float32Array, n: number, heads: number, headDim: number, cuSeqlens: readonly number[]): Float32Array {
  const width = heads * headDim;
  if (q.length !== n * width || k.length !== n * width || v.length !== n * width) {
    throw new RangeError(`attendSegments: q/k/v need n×heads×headDim = ${n * width} elements; got ${q.length}/${k.length}/${v.length}`);
  }
  if (cuSeqlens[0] !== 0 || cuSeqlens[cuSeqlens.length - 1] !== n) throw new RangeError(`attendSegments: cuSeqlens must run from 0 to n = ${n}`);
  const out = new Float32Array(n * width);
  const scale = 1 / Math.sqrt(headDim);
  for (let s = 0; s + 1 < cuSeqlens.length; s++) {
    const start = cuSeqlens[s]!;
    const len = cuSeqlens[s + 1]! - start;
    if (len < 0) throw new RangeError(`attendSegments: cuSeqlens must not decrease (segment ${s})`);
    if (len === 0) continue;
    const kv = headMajorLayout(k, v, start, len, heads, headDim);
    const res = backend.attend({
      q: q.subarray(start * width, (start + len) * width),
      n: len,
      qHeads: heads,
      qPositions: new Int32Array(len),
      kv,
      scale,
      needs: NO_STATS,
    });
    out.set(res.out, start * width);
  }
  return out;
}

/** Rows [start, start+len) of token-major k/v as a head-major f32 KVLayout. */
function headMajorLayout(k: Float32Array, v: Float32Array, start: number, len: number, heads: number, headDim: number): KVLayout {
  const keys = new Float32Array(heads * len * headDim);
  const values = new Float32Array(heads * len * headDim);
  for (let t = 0; t < len; t++) {
    for (let h = 0; h < heads; h++) {
      const src = ((start + t) * heads + h) * headDim;
      const dst = (h * len + t) * headDim;
      keys.set(k.subarray(src, src + headDim), dst);
      values.set(v.subarray(src, src + headDim), dst);
    }
  }
  return {
    kvHeads: heads,
    headDim,
    capacity: len,
    dtype: 'f32',
    keys,
    values,
    lengths: new Int32Array(heads).fill(len),
    positions: new Int32Array(heads * len),
    modality: new Uint8Array(heads * len),
  };
}
