/**
 * Where each vision patch sits, as transformers' Qwen2/2.5-VL vision towers compute it:
 * - patch order: within a frame, patches come in merge blocks (block row, block col, then the
 *   mergeSize×mergeSize patches of the block row-major): the processor's order;
 * - 2-D rotary angles (VisionRotaryEmbedding over head_dim/2: the first half of the angles
 *   follow the patch row, the second half the patch column);
 * - attention segments: one per frame (full attention), or one per window of
 *   windowMerged×windowMerged merged tokens (2.5's window attention), with the permutation of
 *   merge units that makes every window contiguous.
 */
import type { PatchGrid } from './token-counts.js';

/** Patches of all grids: Σ t·h·w. */
export function patchCount(grids: readonly PatchGrid[]): number {
  return grids.reduce((a, g) => a + g.t * g.h * g.w, 0);
}

/**
 * cos/sin tables [n][headDim/2] for backend.rope (rotate-half over the whole head): entry j <
 * headDim/4 is row·θ_j, entry headDim/4 + j is col·θ_j, θ_j = 10000^(−4j/headDim).
 */
export function visionRotaryTables(grids: readonly PatchGrid[], merge: number, headDim: number): { cos: Float32Array; sin: Float32Array } {
  const quarter = headDim / 4;
  const half = headDim / 2;
  const inv = new Float64Array(quarter);
  for (let j = 0; j < quarter; j++) inv[j] = 1 / Math.pow(10000, (2 * j) / half);
  const n = patchCount(grids);
  const cos = new Float32Array(n * half);
  const sin = new Float32Array(n * half);
  let p = 0;
  for (const g of grids) {
    for (let t = 0; t < g.t; t++) {
      for (let br = 0; br < g.h / merge; br++) {
        for (let bc = 0; bc < g.w / merge; bc++) {
          for (let i = 0; i < merge; i++) {
            for (let j = 0; j < merge; j++) {
              const row = br * merge + i;
              const col = bc * merge + j;
              for (let f = 0; f < quarter; f++) {
                // Angles are f32 in transformers (outer product of f32 tensors).
                const a = Math.fround(row * Math.fround(inv[f]!));
                const b = Math.fround(col * Math.fround(inv[f]!));
                cos[p * half + f] = Math.cos(a);
                sin[p * half + f] = Math.sin(a);
                cos[p * half + quarter + f] = Math.cos(b);
                sin[p * half + quarter + f] = Math.sin(b);
              }
              p++;
            }
          }
        }
      }
    }
  }
  return { cos, sin };
}

/** Segment boundaries [0, h·w, 2·h·w, …] with one segment per frame of every grid (patch units). */
export function frameSegments(grids: readonly PatchGrid[]): number[] {
  const cu = [0];
  for (const g of grids) for (let t = 0; t < g.t; t++) cu.push(cu[cu.length - 1]! + g.h * g.w);
  return cu;
}

export interface WindowOrder {
  /** unitOrder[i] = original merge-unit index placed at position i (a permutation). */
  unitOrder: Int32Array;
  /** Window boundaries in patch units over the reordered sequence (empty windows dropped). */
  segments: number[];
}

/**
 * The window order of transformers' `get_window_index`: per frame, the merged grid is cut
 * into windows of `windowMerged`² merged tokens (row-major windows; edge windows partial),
 * and merge units are reordered window by window, row-major inside each window.
 */
export function windowOrder(grids: readonly PatchGrid[], merge: number, windowMerged: number): WindowOrder {
  const units = patchCount(grids) / (merge * merge);
  const unitOrder = new Int32Array(units);
  const segments = [0];
  let placed = 0;
  let base = 0;
  for (const g of grids) {
    const lh = g.h / merge;
    const lw = g.w / merge;
    for (let t = 0; t < g.t; t++) {
      for (let wr = 0; wr * windowMerged < lh; wr++) {
        for (let wc = 0; wc * windowMerged < lw; wc++) {
          const start = placed;
          for (let r = wr * windowMerged; r < Math.min(lh, (wr + 1) * windowMerged); r++) {
            for (let c = wc * windowMerged; c < Math.min(lw, (wc + 1) * windowMerged); c++) unitOrder[placed++] = base + (t * lh + r) * lw + c;
          }
          if (placed > start) segments.push(placed * merge * merge);
        }
      }
    }
    base += g.t * lh * lw;
  }
  return { unitOrder, segments };
}

/** Rows grouped in units of `unitRows` rows of `dim`, reordered: out unit i = x unit order[i]. */
export function gatherUnits(x: Float32Array, order: Int32Array, unitRows: number, dim: number): Float32Array {
  const unit = unitRows * dim;
  const y = new Float32Array(x.length);
  for (let i = 0; i < order.length; i++) y.set(x.subarray(order[i]! * unit, (order[i]! + 1) * unit), i * unit);
  return y;
}

/** Inverse of gatherUnits: out unit order[i] = x unit i. */
export function scatterUnits(x: Float32Array, order: Int32Array, unitRows: number, dim: number): Float32Array {
  const unit = unitRows * dim;
  const y = new Float32Array(x.length);
  for (let i = 0; i < order.length; i++) y.set(x.subarray(i * unit, (i + 1) * unit), order[i]! * unit);
  return y;
}
