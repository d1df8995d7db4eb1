import { describe, expect, it } from 'vitest';
import { smartResize, videoMaxPixels } from '../../../src/model/media/smart-resize.js';

describe('smartResize (HF smart_resize)', () => {
  it('rounds each side to the nearest multiple of patch × merge when within bounds', () => {
    // 240 / 28 = 8.57 → 9; 320 / 28 = 11.43 → 11.
    expect(smartResize(240, 320, 28, 56 * 56, 28 * 28 * 1280)).toEqual({ height: 252, width: 308 });
  });

  it('rounds halves to even as Python does (42 / 28 = 1.5 → 2; 70 / 28 = 2.5 → 2)', () => {
    expect(smartResize(42, 70, 28, 28 * 28, 28 * 28 * 1280)).toEqual({ height: 56, width: 56 });
  });

  it('shrinks by sqrt(pixels / max) and floors when above max_pixels', () => {
    // 1080p with 768 merged patches: beta = sqrt(1920·1080 / 602112) = 1.8558.
    expect(smartResize(1080, 1920, 28, 128 * 784, 768 * 784)).toEqual({ height: 560, width: 1008 });
  });

  it('grows by sqrt(min / pixels) and ceils when below min_pixels', () => {
    // 240x320 with 128 merged patches min: beta = sqrt(100352 / 76800) = 1.1431.
    expect(smartResize(240, 320, 28, 128 * 784, 768 * 784)).toEqual({ height: 280, width: 392 });
  });

  it('keeps every result a multiple of the factor within the bounds', () => {
    for (const [h, w] of [[17, 900], [333, 333], [720, 1280], [2000, 3000], [50, 60]] as const) {
      const r = smartResize(h, w, 28, 3136, 1_003_520);
      expect(r.height % 28).toBe(0);
      expect(r.width % 28).toBe(0);
      expect(r.height * r.width).toBeLessThanOrEqual(1_003_520);
      expect(r.height * r.width).toBeGreaterThanOrEqual(3136);
    }
  });

  it('rejects an aspect ratio above 200', () => {
    expect(() => smartResize(10, 2010, 28, 3136, 1e7)).toThrow(/aspect ratio/);
  });
});

describe('videoMaxPixels (qwen-vl-utils total_pixels cap)', () => {
  it('leaves short clips at max_pixels and shrinks long ones, not below 1.05 × min_pixels', () => {
    const max = 768 * 784;
    const min = 128 * 784;
    const total = 90_316_800;
    expect(videoMaxPixels(max, min, total, 16, 2)).toBe(max);
    expect(videoMaxPixels(max, min, total, 600, 2)).toBeCloseTo((total / 600) * 2, 6);
    expect(videoMaxPixels(max, min, 1_000_000, 768, 2)).toBe(Math.trunc(min * 1.05));
  });
});
