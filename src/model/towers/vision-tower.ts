/**
 * The Qwen2-VL / Qwen2.5-VL / Qwen2.5-Omni vision transformer on the ComputeBackend:
 *   patches → patch embed (Conv3d as GEMM) → [2.5: reorder merge units window by window]
 *   → depth × block (x += proj(attn(rope(q), rope(k), v)) on norm1(x); x += mlp(norm2(x)))
 *   → merger (norm, view m² patches as one row, Linear, GELU, Linear) → [2.5: undo the reorder].
 * Attention is bidirectional inside each frame (Qwen2-VL, and 2.5's full-attention blocks)
 * or inside each window (2.5's other blocks). Semantics follow transformers' modeling_qwen2_vl,
 * modeling_qwen2_5_vl and modeling_qwen2_5_omni.
 */
import type { ComputeBackend } from '../../attention/backend.js';
import { addInPlace, geluInPlace, layerNorm, quickGeluInPlace } from './ops.js';
import { attendSegments } from './segment-attention.js';
import type { VisionTowerConfig } from './tower-config.js';
import { visionTokenCount, type PatchGrid } from './token-counts.js';
import { frameSegments, gatherUnits, patchCount, scatterUnits, visionRotaryTables, windowOrder } from './vision-positions.js';
import type { VisionBlockWeights, VisionNorm, VisionWeights } from './vision-weights.js';

/** eps of every vision norm (hard-coded 1e-6 in transformers). */
const NORM_EPS = 1e-6;

export class VisionTower {
  constructor(
    readonly config: VisionTowerConfig,
    readonly weights: VisionWeights,
  ) {}

  /** Elements of one processor patch row: C·tp·p·p. */
  get patchDim(): number {
    const c = this.config;
    return c.inChannels * c.temporalPatchSize * c.patchSize * c.patchSize;
  }

  /** Merged tokens for these grids (Σ t·h·w / m²). */
  tokenCount(grids: readonly PatchGrid[]): number {
    return grids.reduce((a, g) => a + visionTokenCount(g, this.config.spatialMergeSize), 0);
  }

  /**
   * pixelValues: [Σ t·h·w][C·tp·p·p] f32 in the processor's patch order; grids: one per image
   * or video. Returns [Σ t·h·w / m²][outHiddenSize] f32, merged tokens in the processor's order.
   */
  encode(backend: ComputeBackend, pixelValues: Float32Array, grids: readonly PatchGrid[]): Float32Array {
    const c = this.config;
    const m = c.spatialMergeSize;
    if (grids.length === 0) throw new RangeError('VisionTower.encode: grids is empty; expected one {t, h, w} per image or video');
    this.tokenCount(grids); // validates every grid against the merge size
    const n = patchCount(grids);
    if (pixelValues.length !== n * this.patchDim) {
      throw new RangeError(`VisionTower.encode: pixelValues has ${pixelValues.length} elements; grids need ${n} patches × ${this.patchDim}`);
    }
    const D = c.hiddenSize;
    let x = backend.linear(pixelValues, n, this.weights.patchEmbed);
    let { cos, sin } = visionRotaryTables(grids, m, c.headDim);
    const full = frameSegments(grids);
    let windows = full;
    const order = c.windowSize !== null ? windowOrder(grids, m, c.windowSize / m / c.patchSize) : null;
    if (order) {
      x = gatherUnits(x, order.unitOrder, m * m, D);
      cos = gatherUnits(cos, order.unitOrder, m * m, c.headDim / 2);
      sin = gatherUnits(sin, order.unitOrder, m * m, c.headDim / 2);
      windows = order.segments;
    }
    this.weights.blocks.forEach((w, i) => {
      const segments = order && !c.fullAttBlocks.includes(i) ? windows : full;
      this.block(backend, x, n, w, cos, sin, segments);
    });
    const merged = this.merge(backend, x, n);
    return order ? scatterUnits(merged, order.unitOrder, 1, c.outHiddenSize) : merged;
  }

  /** One transformer block, updating x [n][D] in place. */
  private block(b: ComputeBackend, x: Float32Array, n: number, w: VisionBlockWeights, cos: Float32Array, sin: Float32Array, segments: readonly number[]): void {
    const c = this.config;
    const D = c.hiddenSize;
    const h = this.norm(b, x, n, D, w.norm1);
    const q = b.linear(h, n, w.q, w.qBias);
    const k = b.linear(h, n, w.k, w.kBias);
    const v = b.linear(h, n, w.v, w.vBias);
    b.rope(q, n, c.numHeads, c.headDim, c.headDim, cos, sin);
    b.rope(k, n, c.numHeads, c.headDim, c.headDim, cos, sin);
    const att = attendSegments(b, q, k, v, n, c.numHeads, c.headDim, segments);
    addInPlace(x, b.linear(att, n, w.proj, w.projBias));
    const h2 = this.norm(b, x, n, D, w.norm2);
    let act: Float32Array;
    if (c.mlp === 'gated_silu') {
      act = b.siluMul(b.linear(h2, n, w.gate!, w.gateBias), b.linear(h2, n, w.up, w.upBias));
    } else {
      act = quickGeluInPlace(b.linear(h2, n, w.up, w.upBias));
    }
    addInPlace(x, b.linear(act, n, w.down, w.downBias));
  }

  /** Merger: norm each patch, fold m² consecutive patches into one row, Linear-GELU-Linear. */
  private merge(b: ComputeBackend, x: Float32Array, n: number): Float32Array {
    const c = this.config;
    const w = this.weights;
    const rows = n / c.spatialMergeSize ** 2;
    const h = this.norm(b, x, n, c.hiddenSize, w.mergerNorm);
    const mid = geluInPlace(b.linear(h, rows, w.merger1, w.merger1Bias));
    return b.linear(mid, rows, w.merger2, w.merger2Bias);
  }

  private norm(b: ComputeBackend, x: Float32Array, rows: number, dim: number, w: VisionNorm): Float32Array {
    return w.bias ? layerNorm(x, rows, dim, w.weight, w.bias, NORM_EPS) : b.rmsNorm(x, rows, dim, w.weight, NORM_EPS);
  }
}
