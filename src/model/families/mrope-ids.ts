/**
 * Exact multimodal RoPE ids, rule by rule as transformers computes them in `get_rope_index`
 * (models/qwen2_vl/modeling_qwen2_vl.py, models/qwen2_5_vl/modeling_qwen2_5_vl.py,
 * models/qwen2_5_omni/modeling_qwen2_5_omni.py). Ids are [3][n] axis-major (temporal, height,
 * width). Time products run in f32 and truncate, as torch does: `second_per_grid_ts` is a
 * float32 tensor and the temporal index is `.long()` of the product.
 */
import type { Family } from './family.js';

/** Qwen2-VL: a vision span's temporal id is its temporal grid index (`torch.arange(llm_grid_t)`). */
export function qwen2VLTemporalIds(gridT: number): number[] {
  return Array.from({ length: gridT }, (_, k) => k);
}

/**
 * Qwen2.5-VL: t = (k × second_per_grid_t × tokens_per_second).long() in f32; images use
 * second_per_grid_t = 0 (every temporal id 0).
 */
export function qwen25VLTemporalIds(gridT: number, secondsPerGrid: number, tokensPerSecond: number): number[] {
  return Array.from({ length: gridT }, (_, k) => Math.trunc(f32Mul(f32Mul(k, secondsPerGrid), tokensPerSecond)));
}

/**
 * Qwen2.5-VL under transformers ≥ 5 (get_vision_position_ids with time_interval):
 * t = k × tokens_per_second × int(second_per_grid_t) for videos, k for images (null).
 */
export function qwen25VLTemporalIdsV5(gridT: number, secondsPerGrid: number | null, tokensPerSecond: number): number[] {
  const interval = secondsPerGrid === null ? 1 : tokensPerSecond * Math.trunc(secondsPerGrid);
  return Array.from({ length: gridT }, (_, k) => k * interval);
}

/**
 * Qwen2.5-Omni: video t = (k × second_per_grids × position_id_per_seconds).long() in f32;
 * images t = k × 1 × position_id_per_seconds (`secondsPerGrid` null).
 */
export function omniTemporalIds(gridT: number, secondsPerGrid: number | null, positionsPerSecond: number): number[] {
  return Array.from({ length: gridT }, (_, k) => Math.trunc(f32Mul(f32Mul(k, secondsPerGrid ?? 1), positionsPerSecond)));
}

/** The family's temporal ids of one image (secondsPerGrid null) or video. */
export function temporalIds(family: Family, gridT: number, secondsPerGrid: number | null): number[] {
  switch (family.name) {
    case 'qwen2-vl':
      return qwen2VLTemporalIds(gridT);
    case 'qwen2.5-vl':
      if (family.ropeIndexRules === 'transformers-5') return qwen25VLTemporalIdsV5(gridT, secondsPerGrid, family.positionsPerSecond!);
      return qwen25VLTemporalIds(gridT, secondsPerGrid ?? 0, family.positionsPerSecond!);
    case 'qwen2.5-omni':
      return omniTemporalIds(gridT, secondsPerGrid, family.positionsPerSecond!);
  }
}

/**
 * Ids of a vision span relative to its start, [3][t·h·w] in merged-token order (temporal step,
 * then row, then column): (tIds[k], row, col) — `get_llm_pos_ids_for_vision` without start_idx.
 * `rows`, `cols`: the merged grid (patch grid h, w ÷ merge size).
 */
export function visionRelativeIds(tIds: readonly number[], rows: number, cols: number): Int32Array {
  const m = tIds.length * rows * cols;
  const out = new Int32Array(3 * m);
  let i = 0;
  for (const t of tIds) {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++, i++) {
        out[i] = t;
        out[m + i] = r;
        out[2 * m + i] = c;
      }
    }
  }
  return out;
}

/** [3][n] ids 0..n−1 on every axis (audio tokens relative to their start). */
export function sequentialIds(n: number): Int32Array {
  const out = new Int32Array(3 * n);
  for (let a = 0; a < 3; a++) for (let i = 0; i < n; i++) out[a * n + i] = i;
  return out;
}

/**
 * Appends ids piece by piece the way get_rope_index builds `llm_pos_ids_list`: each piece
 * starts at `next` = 1 + the largest id of the piece before it (not of the whole list).
 */
export class MropeIdWriter {
  private readonly axes: [number[], number[], number[]] = [[], [], []];
  private lastMax = -1;
  private largestId = -1;

  /** Start id of the next piece. */
  get next(): number {
    return this.lastMax + 1;
  }

  get length(): number {
    return this.axes[0].length;
  }

  /** 1 + the largest id written: the position of the token after the prompt. */
  get after(): number {
    return this.largestId + 1;
  }

  /** n text tokens: ids next, next+1, … on all three axes. */
  text(n: number): void {
    if (n > 0) this.piece(sequentialIds(n), this.next);
  }

  /** n tokens that share one id `next` (Omni's bos pair and eos pair around a video with audio). */
  shared(n: number): void {
    const st = this.next;
    for (let i = 0; i < n; i++) this.piece(Int32Array.of(0, 0, 0), st);
  }

  /**
   * One piece: base + rel ([3][m]). The next piece starts after its largest id, or at `next`
   * when given (transformers ≥ 5 continues after a Qwen2-VL span at start + max(rows, cols)).
   */
  piece(rel: Int32Array, base: number, next?: number): void {
    const m = rel.length / 3;
    if (m === 0) return;
    let max = -Infinity;
    for (let a = 0; a < 3; a++) {
      for (let i = 0; i < m; i++) {
        const v = base + rel[a * m + i]!;
        this.axes[a]!.push(v);
        if (v > max) max = v;
      }
    }
    this.lastMax = next === undefined ? max : next - 1;
    this.largestId = Math.max(this.largestId, max);
  }

  /** The ids written, [3][n] axis-major. */
  ids(): Int32Array {
    return Int32Array.from([...this.axes[0], ...this.axes[1], ...this.axes[2]]);
  }
}

/** a × b in f32, as a float32 torch tensor times a scalar computes it. */
function f32Mul(a: number, b: number): number {
  return Math.fround(Math.fround(a) * Math.fround(b));
}
