/**
 * Video renderer: draws each frame of a scene as an RGB image (gridRows·cellPx ×
 * gridCols·cellPx pixels, values in [0, 1]) on a dark, slightly noisy background.
 */
import { Rng } from './rng.js';
import type { Scene } from './scene.js';
import type { AvPreset } from './presets.js';
import type { Colour, Shape } from './vocab.js';

const RGB: Record<Colour, [number, number, number]> = {
  red: [0.9, 0.15, 0.1],
  green: [0.15, 0.8, 0.2],
  blue: [0.2, 0.3, 0.95],
  yellow: [0.9, 0.85, 0.1],
};

export const BACKGROUND = 0.1;

/** Whether local pixel (x, y) of a cell of `size` px lies inside `shape`. */
export function shapeCovers(shape: Shape, x: number, y: number, size: number): boolean {
  const c = (size - 1) / 2;
  const u = (x - c) / size;
  const v = (y - c) / size;
  switch (shape) {
    case 'circle': return u * u + v * v <= 0.4 * 0.4;
    case 'square': return Math.abs(u) <= 0.33 && Math.abs(v) <= 0.33;
    case 'triangle': return v >= -0.4 && v <= 0.35 && Math.abs(u) <= (v + 0.45) * 0.55;
    case 'cross': return (Math.abs(u) <= 0.13 || Math.abs(v) <= 0.13) && Math.abs(u) <= 0.42 && Math.abs(v) <= 0.42;
  }
}

/** Frames as [frames][height][width][3] f32 in [0, 1]. */
export function renderVideo(scene: Scene, preset: AvPreset, rng: Rng): Float32Array {
  const { cellPx: S, gridRows, gridCols } = preset;
  const H = gridRows * S;
  const W = gridCols * S;
  const img = new Float32Array(scene.frames * H * W * 3);
  for (let i = 0; i < img.length; i++) img[i] = BACKGROUND + 0.07 * (rng.next() - 0.5);
  for (const o of scene.objects) {
    const gain = 0.9 + 0.2 * rng.next();
    const rgb = RGB[o.colour];
    for (let f = o.start; f < o.end; f++) {
      const r0 = o.rows[f - o.start]! * S;
      const c0 = o.cols[f - o.start]! * S;
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) {
          if (!shapeCovers(o.shape, x, y, S)) continue;
          const p = ((f * H + r0 + y) * W + c0 + x) * 3;
          for (let ch = 0; ch < 3; ch++) img[p + ch] = Math.min(1, rgb[ch]! * gain);
        }
      }
    }
  }
  return img;
}
