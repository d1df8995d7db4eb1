import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFrames } from '../../../src/model/media/decode-frames.js';
import { parsePreprocessorConfig } from '../../../src/model/media/preprocessor-config.js';
import { readImage, readVideo } from '../../../src/model/media/read-video.js';
import { frameNumber, makeMedia, mediaDir, numberedFrames, sine, testPattern } from './make-media.js';
import { compare, hfQwen2VLPatches } from './transformers-js.js';

let dir: string;
let mp4: string;
let webm: string;
let numbered: string;
let long: string;
let png: string;

beforeAll(() => {
  dir = mediaDir();
  mp4 = makeMedia(dir, 'clip.mp4', [...testPattern(320, 240, 10, 3), ...sine(440, 44100, 3), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest']);
  webm = makeMedia(dir, 'clip.webm', [...testPattern(160, 120, 25, 2), '-c:v', 'libvpx', '-b:v', '300k']);
  // Lossless (FFV1 in Matroska): decoded frame n shows n exactly (make-media.ts).
  numbered = makeMedia(dir, 'numbered.mkv', [...numberedFrames(56, 56, 10, 30), '-c:v', 'ffv1', '-pix_fmt', 'bgr0']);
  long = makeMedia(dir, 'long.mkv', [...numberedFrames(28, 28, 25, 900), '-c:v', 'ffv1', '-pix_fmt', 'bgr0']);
  png = makeMedia(dir, 'still.png', [...testPattern(64, 48, 1, 1), '-frames:v', '1']);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const omni = parsePreprocessorConfig(
  { patch_size: 14, merge_size: 2, temporal_patch_size: 2, min_pixels: 3136, max_pixels: 12845056, feature_extractor_type: 'WhisperFeatureExtractor', feature_size: 128, chunk_length: 300 },
  'preprocessor_config.json',
);

describe('readVideo', () => {
  it('mp4 (H.264 + AAC): 2 fps sampling, qwen-vl-utils video pixel bounds, timestamps of the sampled frames', async () => {
    const v = await readVideo(mp4, omni.video);
    // 30 frames at 10 fps → 6 frames at linspace(0, 29, 6) = 0, 5.8, 11.6, 17.4, 23.2, 29.
    expect(Array.from(v.frameIndices)).toEqual([0, 6, 12, 17, 23, 29]);
    Array.from(v.frameTimes).forEach((t, i) => expect(t).toBeCloseTo(v.frameIndices[i]! / 10, 4));
    // 320x240 is below 128 merged patches (100 352 px): grown to 280x392.
    expect(v.resized).toEqual({ height: 280, width: 392 });
    expect(v.grid).toEqual({ t: 3, h: 20, w: 28 });
    expect(v.pixelValues.length).toBe(3 * 20 * 28 * v.patchDim);
    expect(v.patchDim).toBe(3 * 2 * 14 * 14);
    expect(v.secondsPerGrid).toBeCloseTo(2 / ((6 / 30) * 10), 12);
  });

  it('webm (VP8): frame count and grid; the transformers rule picks arange indices', async () => {
    const v = await readVideo(webm, omni.video, { sampling: { rule: 'transformers' }, minPixels: 3136, maxPixels: 12845056 });
    // 50 frames at 25 fps → 4 frames, step 12.5.
    expect(Array.from(v.frameIndices)).toEqual([0, 12, 25, 37]);
    expect(v.resized).toEqual({ height: 112, width: 168 });
    expect(v.grid).toEqual({ t: 2, h: 8, w: 12 });
    expect(v.secondsPerGrid).toBe(1); // 2 / requested 2 fps
  });

  it('decodes exactly the sampled frames (lossless mkv whose frames show their own index)', async () => {
    const seen: number[] = [];
    const idx = Int32Array.from([0, 3, 4, 17, 29]);
    await decodeFrames({ file: numbered, width: 56, height: 56, indices: idx }, (rgb) => seen.push(frameNumber(rgb)));
    expect(seen).toEqual(Array.from(idx));
  });

  it('decodes the right frames of a long clip (36 s, 900 frames → 72 sampled)', async () => {
    const v = await readVideo(long, { ...omni.video, minPixels: 784, maxPixels: 784 });
    expect(v.frameIndices.length).toBe(72);
    const seen: number[] = [];
    await decodeFrames({ file: long, width: 28, height: 28, indices: v.frameIndices }, (rgb) => seen.push(frameNumber(rgb)));
    expect(seen).toEqual(Array.from(v.frameIndices));
    expect(v.frameTimes[71]).toBeCloseTo(899 / 25, 4);
  });

  it('pixel values equal transformers.js Qwen2VLImageProcessor on the same decoded frames when no resize is needed', async () => {
    const settings = { ...omni.video, minPixels: 3136, maxPixels: 12845056 };
    const v = await readVideo(numbered, settings, { sampling: { nframes: 4 } });
    expect(v.resized).toEqual({ height: 56, width: 56 });
    const frames: Uint8Array[] = [];
    await decodeFrames({ file: numbered, width: 56, height: 56, indices: v.frameIndices }, (rgb) => frames.push(rgb.slice()));
    const hf = await hfQwen2VLPatches(frames, 56, 56, settings);
    expect(hf.grid).toEqual([v.grid.t, v.grid.h, v.grid.w]);
    expect(compare(v.pixelValues, hf.pixelValues).max).toBeLessThan(1e-6);
  });

  it('with resizing, stays within the measured distance of transformers.js (which resizes with sharp, not Pillow)', async () => {
    const v = await readVideo(mp4, omni.video);
    const frames: Uint8Array[] = [];
    await decodeFrames({ file: mp4, width: 320, height: 240, indices: v.frameIndices }, (rgb) => frames.push(rgb.slice()));
    const hf = await hfQwen2VLPatches(frames, 320, 240, { ...omni.video, minPixels: 128 * 784, maxPixels: 768 * 784 });
    expect(hf.grid).toEqual([v.grid.t, v.grid.h, v.grid.w]);
    const d = compare(v.pixelValues, hf.pixelValues);
    // Measured (320x240 → 392x280): mean 0.0105, max 0.86 in normalised units (one 8-bit level
    // is 1/255/0.27 ≈ 0.015); transformers.js resizes with sharp's affine bicubic, which differs
    // from Pillow (our resize is Pillow-exact, resize-bicubic.test.ts) at the pattern's edges.
    expect(d.mean).toBeLessThan(0.02);
    expect(d.max).toBeLessThan(1.2);
  });
});

describe('readImage', () => {
  it('png: one frame tiled to the temporal patch, secondsPerGrid 0, image pixel bounds', async () => {
    const im = await readImage(png, omni.image);
    expect(im.resized).toEqual({ height: 56, width: 56 }); // 48x64 rounds to 56x56 (round(1.71) = 2, round(2.29) = 2)
    expect(im.grid).toEqual({ t: 1, h: 4, w: 4 });
    expect(im.secondsPerGrid).toBe(0);
    expect(Array.from(im.frameTimes)).toEqual([0]);
    // Within each patch row the two temporal halves are the same frame.
    const ps2 = 14 * 14;
    for (let c = 0; c < 3; c++) {
      const first = im.pixelValues.subarray((c * 2) * ps2, (c * 2 + 1) * ps2);
      const second = im.pixelValues.subarray((c * 2 + 1) * ps2, (c * 2 + 2) * ps2);
      expect(Array.from(second)).toEqual(Array.from(first));
    }
  });

  it('the first frame of an H.264 video (showinfo logs only the kept frame; it used to log two)', async () => {
    const im = await readImage(mp4, omni.image);
    expect(im.grid.t).toBe(1);
    expect(Array.from(im.frameTimes)).toEqual([0]);
  });
});
