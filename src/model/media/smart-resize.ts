/**
 * HF `smart_resize` (Qwen2VLImageProcessor; the same rule in qwen-vl-utils): the output height
 * and width are multiples of `factor` (patch_size * merge_size), their product lies in
 * [minPixels, maxPixels], and the aspect ratio is kept as closely as possible. Rounding is
 * Python's (halves to even). transformers.js additionally upscales images with a side below
 * `factor` before rounding; the Python processors do not, and neither does this.
 */
import { ceilByFactor, floorByFactor, roundByFactor } from './python-math.js';

const MAX_ASPECT_RATIO = 200;

/** Returns the resized { height, width } in pixels. */
export function smartResize(height: number, width: number, factor: number, minPixels: number, maxPixels: number): { height: number; width: number } {
  if (!(height > 0 && width > 0)) throw new Error(`smart_resize: image size ${width}x${height} must be positive`);
  if (Math.max(height, width) / Math.min(height, width) > MAX_ASPECT_RATIO) {
    throw new Error(`smart_resize: aspect ratio of ${width}x${height} exceeds ${MAX_ASPECT_RATIO}`);
  }
  let h = roundByFactor(height, factor);
  let w = roundByFactor(width, factor);
  if (h * w > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    h = Math.max(factor, floorByFactor(height / beta, factor));
    w = Math.max(factor, floorByFactor(width / beta, factor));
  } else if (h * w < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width));
    h = ceilByFactor(height * beta, factor);
    w = ceilByFactor(width * beta, factor);
  }
  return { height: h, width: w };
}

/**
 * qwen-vl-utils' pixel cap for a video of `nframes` frames: the per-frame maximum shrinks so the
 * whole clip stays under `totalPixels` (counted per temporal patch of `framesPerGrid` frames),
 * but never below 1.05 × minPixels.
 */
export function videoMaxPixels(maxPixels: number, minPixels: number, totalPixels: number, nframes: number, framesPerGrid: number): number {
  const capped = Math.max(Math.min(maxPixels, (totalPixels / nframes) * framesPerGrid), Math.trunc(minPixels * 1.05));
  return Math.min(maxPixels, capped);
}
