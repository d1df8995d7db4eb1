import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPreprocessorConfig, parsePreprocessorConfig } from '../../../src/model/media/preprocessor-config.js';
import { ConfigError } from '../../../src/util/config-error.js';

/** Qwen2.5-Omni's published preprocessor_config.json. */
const OMNI = {
  chunk_length: 300,
  dither: 0.0,
  feature_extractor_type: 'WhisperFeatureExtractor',
  feature_size: 128,
  hop_length: 160,
  image_mean: [0.48145466, 0.4578275, 0.40821073],
  image_processor_type: 'Qwen2VLImageProcessor',
  image_std: [0.26862954, 0.26130258, 0.27577711],
  max_pixels: 12845056,
  merge_size: 2,
  min_pixels: 3136,
  n_fft: 400,
  n_samples: 4800000,
  nb_max_frames: 30000,
  padding_side: 'right',
  padding_value: 0.0,
  patch_size: 14,
  processor_class: 'Qwen2_5OmniProcessor',
  return_attention_mask: true,
  sampling_rate: 16000,
  temporal_patch_size: 2,
};

const dirs: string[] = [];
function folder(files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kvprism-preproc-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  return dir;
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('loadPreprocessorConfig', () => {
  it("reads Qwen2.5-Omni's file: image bounds, video defaults of qwen-vl-utils, 128-bin audio padded to 300 s", () => {
    const s = loadPreprocessorConfig(folder({ 'preprocessor_config.json': OMNI }));
    expect(s.image).toMatchObject({ minPixels: 3136, maxPixels: 12845056, doResize: true, patch: { patchSize: 14, temporalPatchSize: 2, mergeSize: 2 } });
    expect(s.image.norm.imageMean).toEqual(OMNI.image_mean);
    expect(s.video).toMatchObject({ minPixels: 128 * 28 * 28, maxPixels: 768 * 28 * 28, sampling: { rule: 'qwen-vl-utils', fps: 2, minFrames: 4, maxFrames: 768 } });
    expect(s.audio).toEqual({ numMel: 128, sampleRate: 16000, hopLength: 160, nFft: 400, maxSamples: 4_800_000 });
  });

  it('takes size.{shortest,longest}_edge (Qwen2.5-VL style) and HF defaults for absent keys; no audio without a feature extractor', () => {
    const s = parsePreprocessorConfig({ size: { shortest_edge: 4000, longest_edge: 500000 }, image_processor_type: 'Qwen2VLImageProcessor' }, 'p.json');
    expect(s.image).toMatchObject({ minPixels: 4000, maxPixels: 500000, patch: { patchSize: 14, temporalPatchSize: 2, mergeSize: 2 } });
    expect(s.image.norm).toMatchObject({ doRescale: true, doNormalize: true, rescaleFactor: 1 / 255 });
    expect(s.audio).toBeNull();
  });

  it('video_preprocessor_config.json overrides video bounds and sampling, inheriting the rest from the image config', () => {
    const s = loadPreprocessorConfig(
      folder({
        'preprocessor_config.json': { ...OMNI, patch_size: 16 },
        'video_preprocessor_config.json': { fps: 1.0, min_frames: 2, max_frames: 64, size: { shortest_edge: 50000, longest_edge: 200000 } },
      }),
    );
    expect(s.video).toMatchObject({ minPixels: 50000, maxPixels: 200000, patch: { patchSize: 16 }, sampling: { fps: 1, minFrames: 2, maxFrames: 64 } });
  });

  it('video defaults scale with patch × merge (128 and 768 merged patches)', () => {
    const s = parsePreprocessorConfig({ patch_size: 16 }, 'p.json');
    expect(s.video).toMatchObject({ minPixels: 128 * 32 * 32, maxPixels: 768 * 32 * 32 });
  });

  it('bad values are ConfigErrors naming the file, the key, the value and the expected form', () => {
    const dir = folder({ 'preprocessor_config.json': { ...OMNI, patch_size: '14', image_mean: [0.5, 0.5], dither: 0.1 } });
    const file = join(dir, 'preprocessor_config.json');
    let error: unknown;
    try {
      loadPreprocessorConfig(dir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message.startsWith(file)).toBe(true);
    expect(message).toMatch(/patch_size: .*got "14"/);
    expect(message).toMatch(/image_mean: .*got \[0.5,0.5\] — expected a number or 3 numbers \(RGB\)/);
    expect(message).toMatch(/dither: .*got 0.1 — expected 0 \(random dithering is not reproduced\)/);
  });

  it('a missing file, invalid JSON or a non-object are errors naming the file', () => {
    const empty = folder({});
    expect(() => loadPreprocessorConfig(empty)).toThrow(new RegExp(`${join(empty, 'preprocessor_config.json')}: file not found`));
    expect(() => loadPreprocessorConfig(folder({ 'preprocessor_config.json': '{"patch_size": 14,' }))).toThrow(/preprocessor_config.json: cannot read as JSON/);
    expect(() => loadPreprocessorConfig(folder({ 'preprocessor_config.json': [1, 2] }))).toThrow(/expected a JSON object at the top level/);
    expect(() => loadPreprocessorConfig(folder({ 'preprocessor_config.json': OMNI, 'video_preprocessor_config.json': { min_pixels: 900000, max_pixels: 1000 } }))).toThrow(
      /video_preprocessor_config.json: min_pixels 900000 exceeds max_pixels 1000/,
    );
  });
});
