/**
 * Video front-end: one token per patch (grid cell) per frame, with a small hand-designed
 * feature vector (what a frozen vision tower would give a real AV-LLM): mean colour, colour
 * of the foreground, a 4×4 foreground-occupancy map (shape), foreground fraction, luminance
 * spread, the patch's grid position (one-hot row and column, as a ViT position embedding) and
 * two motion cues (as codec motion vectors give motion-aware video LLMs): temporal change of
 * the patch and "inflow", foreground that was in a 4-neighbour patch with the same colour in
 * the previous frame but not here.
 */
import { BACKGROUND } from './render-video.js';
import type { AvPreset } from './presets.js';

export const VIDEO_FEATURE_DIM = 34;
const POOL = 4;

/**
 * frames: [F][H][W][3] f32 → features [F·gridRows·gridCols][VIDEO_FEATURE_DIM] f32, tokens
 * ordered frame-major, then row-major over the grid.
 */
export function videoFeatures(frames: Float32Array, preset: AvPreset): Float32Array {
  const { cellPx: S, gridRows: R, gridCols: C } = preset;
  const H = R * S;
  const W = C * S;
  const F = frames.length / (H * W * 3);
  const out = new Float32Array(F * R * C * VIDEO_FEATURE_DIM);
  const cellPool = S / POOL;
  for (let f = 0; f < F; f++) {
    for (let r = 0; r < R; r++) {
      for (let c = 0; c < C; c++) {
        const o = ((f * R + r) * C + c) * VIDEO_FEATURE_DIM;
        let fg = 0;
        let lumSum = 0;
        let lumSq = 0;
        for (let y = 0; y < S; y++) {
          for (let x = 0; x < S; x++) {
            const p = ((f * H + r * S + y) * W + c * S + x) * 3;
            const red = frames[p]!;
            const green = frames[p + 1]!;
            const blue = frames[p + 2]!;
            const lum = (red + green + blue) / 3;
            lumSum += lum;
            lumSq += lum * lum;
            out[o] += red;
            out[o + 1] += green;
            out[o + 2] += blue;
            if (Math.max(red, green, blue) > BACKGROUND + 0.2) {
              fg++;
              out[o + 3] += red;
              out[o + 4] += green;
              out[o + 5] += blue;
              out[o + 6 + Math.floor(y / cellPool) * POOL + Math.floor(x / cellPool)] += 1 / (cellPool * cellPool);
            }
          }
        }
        const n = S * S;
        for (let k = 0; k < 3; k++) out[o + k] /= n;
        for (let k = 3; k < 6; k++) out[o + k] = fg > 0 ? out[o + k]! / fg : 0;
        out[o + 22] = fg / n;
        const mean = lumSum / n;
        out[o + 23] = 4 * Math.sqrt(Math.max(0, lumSq / n - mean * mean));
        out[o + 24 + r] = 1;
        out[o + 28 + c] = 1;
      }
    }
  }
  addMotion(out, F, R, C);
  emphasizeObject(out);
  return out;
}

/**
 * Gains on the object descriptors (foreground colour ×3, occupancy map ×6), applied last:
 * an object-centric vision encoder's tokens are dominated by what the object is, while raw
 * features are dominated by position one-hots and background. Measured while building the
 * organism: with unit gains the colour of a patch moved its layer-3 representation by ~1/8
 * of its norm, too little for an attention head to read it out.
 */
export const FG_COLOUR_GAIN = 3;
export const SHAPE_GAIN = 6;

function emphasizeObject(out: Float32Array): void {
  for (let o = 0; o < out.length; o += VIDEO_FEATURE_DIM) {
    for (let k = 3; k < 6; k++) out[o + k]! *= FG_COLOUR_GAIN;
    for (let k = 6; k < 22; k++) out[o + k]! *= SHAPE_GAIN;
  }
}

/** Fills features 32 (temporal change) and 33 (inflow from a same-colour neighbour). */
function addMotion(out: Float32Array, F: number, R: number, C: number): void {
  const D = VIDEO_FEATURE_DIM;
  const at = (f: number, r: number, c: number) => ((f * R + r) * C + c) * D;
  const sameColour = (a: number, b: number) => Math.abs(out[a + 3]! - out[b + 3]!) + Math.abs(out[a + 4]! - out[b + 4]!) + Math.abs(out[a + 5]! - out[b + 5]!) < 0.3;
  for (let f = 1; f < F; f++) {
    for (let r = 0; r < R; r++) {
      for (let c = 0; c < C; c++) {
        const o = at(f, r, c);
        const p = at(f - 1, r, c);
        out[o + 32] = Math.abs(out[o + 22]! - out[p + 22]!) * 2;
        if (out[o + 22]! < 0.1 || out[p + 22]! > 0.1) continue;
        for (const [dr, dc] of [[-1, 0], [1, 0], [0, -1], [0, 1]] as const) {
          const rr = r + dr;
          const cc = c + dc;
          if (rr < 0 || rr >= R || cc < 0 || cc >= C) continue;
          const q = at(f - 1, rr, cc);
          if (out[q + 22]! > 0.1 && out[at(f, rr, cc) + 22]! < 0.1 && sameColour(o, q)) out[o + 33] = 1;
        }
      }
    }
  }
}
