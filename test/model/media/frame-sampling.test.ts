import { describe, expect, it } from 'vitest';
import { sampleFrames, DEFAULT_FRAME_SAMPLING, type FrameSampling } from '../../../src/model/media/frame-sampling.js';
import { linspaceF32, roundHalfEven } from '../../../src/model/media/python-math.js';

const utils: FrameSampling = DEFAULT_FRAME_SAMPLING;
const hf: FrameSampling = { ...DEFAULT_FRAME_SAMPLING, rule: 'transformers' };

describe('frame sampling (qwen-vl-utils smart_nframes + linspace)', () => {
  it('samples 2 fps spread over the whole clip, endpoints included', () => {
    // 3 s at 30 fps: n = 90 / 30 * 2 = 6; linspace(0, 89, 6) = 0, 17.8, 35.6, 53.4, 71.2, 89.
    const s = sampleFrames(90, 30, 2, utils);
    expect(Array.from(s.indices)).toEqual([0, 18, 36, 53, 71, 89]);
    expect(s.sampledFps).toBeCloseTo(2, 12);
  });

  it('floors the count to a multiple of the temporal patch and reports the fps it stands for', () => {
    // 2.5 s at 10 fps: 25 / 10 * 2 = 5 → 4 frames; sampled fps = 4 / 25 * 10 = 1.6.
    const s = sampleFrames(25, 10, 2, utils);
    expect(s.indices.length).toBe(4);
    expect(Array.from(s.indices)).toEqual([0, 8, 16, 24]);
    expect(s.sampledFps).toBeCloseTo(1.6, 12);
  });

  it('raises short clips to min_frames and caps long ones at max_frames', () => {
    expect(sampleFrames(30, 30, 2, utils).indices.length).toBe(4); // 1 s → 2 frames, min 4
    expect(sampleFrames(30 * 600, 30, 2, utils).indices.length).toBe(768); // 10 min → 1200, max 768
    expect(sampleFrames(30 * 600, 30, 2, { ...utils, maxFrames: 33 }).indices.length).toBe(32); // floor to even
    expect(sampleFrames(3, 30, 2, utils).indices.length).toBe(2); // min clamps to the clip's frames
  });

  it('rounds a fixed nframes to the temporal patch with Python rounding', () => {
    expect(sampleFrames(100, 25, 2, { ...utils, nframes: 10 }).indices.length).toBe(10);
    expect(sampleFrames(100, 25, 2, { ...utils, nframes: 5 }).indices.length).toBe(4); // round(2.5) = 2
    expect(sampleFrames(100, 25, 2, { ...utils, nframes: 7 }).indices.length).toBe(8); // round(3.5) = 4
  });

  it('refuses a clip too short for one temporal patch', () => {
    expect(() => sampleFrames(1, 30, 2, utils)).toThrow(/1 frames.*expected between 2 and 1/);
  });
});

describe('frame sampling (transformers Qwen2VLVideoProcessor.sample_frames)', () => {
  it('takes int(arange(0, total, total / n)) and reports the requested fps', () => {
    const s = sampleFrames(90, 30, 2, hf);
    expect(Array.from(s.indices)).toEqual([0, 15, 30, 45, 60, 75]);
    expect(s.sampledFps).toBe(2);
    // 7 s at 3 fps: n = 21 / 3 * 2 = 14; step 1.5 → 0, 1, 3, 4, 6, ...
    expect(Array.from(sampleFrames(21, 3, 2, hf).indices).slice(0, 5)).toEqual([0, 1, 3, 4, 6]);
  });

  it('applies min_frames before the cap (a 1 s clip at 30 fps gives 4 frames)', () => {
    expect(Array.from(sampleFrames(30, 30, 2, hf).indices)).toEqual([0, 7, 15, 22]);
  });
});

describe('Python / torch rounding helpers', () => {
  it('rounds halves to even like Python', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, 2.6].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, 2, 3]);
  });
  it('computes torch.linspace in float32 from both ends', () => {
    const l = linspaceF32(0, 89, 6);
    expect(l[5]).toBe(89);
    expect(l[1]).toBe(Math.fround(Math.fround(89 / 5) * 1));
  });
});
