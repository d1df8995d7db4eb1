import { describe, expect, it } from 'vitest';
import { patchify } from '../../../src/model/media/patchify.js';
import { parsePreprocessorConfig } from '../../../src/model/media/preprocessor-config.js';
import { compare, hfQwen2VLPatches } from './transformers-js.js';

/** Frames with deterministic pseudo-random pixels: [n][h][w][3] u8. */
function randomFrames(n: number, width: number, height: number, seed: number): Uint8Array[] {
  let s = seed;
  return Array.from({ length: n }, () => Uint8Array.from({ length: width * height * 3 }, () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) & 255));
}

const raw = { doRescale: false, rescaleFactor: 1, doNormalize: false, imageMean: [0, 0, 0], imageStd: [1, 1, 1] };

describe('patchify: HF flatten_patches order', () => {
  it('puts pixel (frame, y, x, c) where Qwen2VLImageProcessor does', () => {
    const ps = 2;
    const m = 2;
    const tps = 2;
    const width = 8;
    const height = 4;
    // Every value is unique (2 frames × 4 × 8 × 3 = 192 < 256): it is the pixel's own (frame, y, x, c) index.
    const frames = [0, 1].map((f) => Uint8Array.from({ length: width * height * 3 }, (_, i) => f * width * height * 3 + i));
    const p = patchify(frames, height, width, { patchSize: ps, temporalPatchSize: tps, mergeSize: m }, raw);
    expect(p.grid).toEqual({ t: 1, h: 2, w: 4 });
    expect(p.patchDim).toBe(3 * tps * ps * ps);
    // Row r = ((t·(h/m) + bh)·(w/m) + bw)·m² + mh·m + mw; element (c, tp, py, px).
    const value = (row: number, c: number, tp: number, py: number, px: number) => p.pixelValues[row * p.patchDim + ((c * tps + tp) * ps + py) * ps + px];
    const bw = 1;
    const mh = 1;
    const mw = 0;
    const row = bw * m * m + mh * m + mw; // t 0, bh 0
    const y = (0 * m + mh) * ps + 1;
    const x = (bw * m + mw) * ps + 1;
    expect(value(row, 1, 1, 1, 1)).toBe(96 + (y * width + x) * 3 + 1);
    expect(value(row, 0, 0, 1, 1)).toBe((y * width + x) * 3);
    expect(value(row, 2, 0, 0, 1)).toBe(((y - 1) * width + x) * 3 + 2);
  });

  it('pads a frame count that is not a multiple of temporal_patch_size by repeating the last frame', () => {
    const frames = randomFrames(3, 4, 4, 7);
    const p = patchify(frames, 4, 4, { patchSize: 2, temporalPatchSize: 2, mergeSize: 2 }, raw);
    expect(p.grid.t).toBe(2);
    const q = patchify([...frames, frames[2]!], 4, 4, { patchSize: 2, temporalPatchSize: 2, mergeSize: 2 }, raw);
    expect(Array.from(p.pixelValues)).toEqual(Array.from(q.pixelValues));
  });

  it('rejects sizes that are not multiples of patch × merge', () => {
    expect(() => patchify(randomFrames(2, 6, 4, 1), 4, 6, { patchSize: 2, temporalPatchSize: 2, mergeSize: 2 }, raw)).toThrow(/not a multiple of 4/);
  });
});

describe('patchify + normalisation against transformers.js Qwen2VLImageProcessor', () => {
  const settings = parsePreprocessorConfig({ patch_size: 14, merge_size: 2, temporal_patch_size: 2, min_pixels: 3136, max_pixels: 1_000_000 }, 'test').image;

  it('a 4-frame clip at a size smart_resize keeps (56x84): identical within 1e-6', async () => {
    const frames = randomFrames(4, 84, 56, 3);
    const ours = patchify(frames, 56, 84, settings.patch, settings.norm);
    const hf = await hfQwen2VLPatches(frames, 84, 56, settings);
    expect(hf.grid).toEqual([ours.grid.t, ours.grid.h, ours.grid.w]);
    expect(compare(ours.pixelValues, hf.pixelValues).max).toBeLessThan(1e-6);
  });

  it('a single image is tiled to temporal_patch_size frames, as HF does', async () => {
    const frames = randomFrames(1, 56, 56, 9);
    const ours = patchify(frames, 56, 56, settings.patch, settings.norm);
    const hf = await hfQwen2VLPatches(frames, 56, 56, settings);
    expect(hf.grid).toEqual([1, 4, 4]);
    expect(compare(ours.pixelValues, hf.pixelValues).max).toBeLessThan(1e-6);
  });
});
