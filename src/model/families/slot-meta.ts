/**
 * Slot metadata of real media tokens, in the towers' output order: what the cache records per
 * slot so that modality- and time-aware policies see the clip's structure.
 * - vision token (temporal step k, merged row r, column c): time = the step's frame time in
 *   seconds (video: frameTimes[k], default k × secondsPerGrid; images: none = NaN), row r, col c;
 * - audio token i: time = i × secondsPerToken, no row/col (-1).
 */
import type { AudioMedia, ImageMedia, VideoMedia } from './media.js';

export interface SlotMeta {
  /** [n] seconds (NaN: none). */
  time: Float32Array;
  /** [n] merged-grid row / col (-1: not a patch). */
  row: Int16Array;
  col: Int16Array;
}

export function visionSlotMeta(m: ImageMedia | VideoMedia, mergeSize: number): SlotMeta {
  const rows = m.grid.h / mergeSize;
  const cols = m.grid.w / mergeSize;
  const n = m.grid.t * rows * cols;
  const out: SlotMeta = { time: new Float32Array(n), row: new Int16Array(n), col: new Int16Array(n) };
  let i = 0;
  for (let k = 0; k < m.grid.t; k++) {
    const time = m.kind === 'video' ? (m.frameTimes?.[k] ?? k * m.secondsPerGrid) : Number.NaN;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++, i++) {
        out.time[i] = time;
        out.row[i] = r;
        out.col[i] = c;
      }
    }
  }
  return out;
}

export function audioSlotMeta(m: AudioMedia): SlotMeta {
  return {
    time: Float32Array.from({ length: m.tokens }, (_, i) => i * m.secondsPerToken),
    row: new Int16Array(m.tokens).fill(-1),
    col: new Int16Array(m.tokens).fill(-1),
  };
}
