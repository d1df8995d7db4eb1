import { describe, expect, it } from 'vitest';
import { audioTokenCount, visionTokenCount } from '../../../src/model/towers/token-counts.js';

describe('tower token counts', () => {
  it('vision: t·h·w / merge²', () => {
    expect(visionTokenCount({ t: 2, h: 6, w: 10 }, 2)).toBe(30);
    expect(visionTokenCount({ t: 1, h: 4, w: 4 }, 1)).toBe(16);
    expect(() => visionTokenCount({ t: 1, h: 5, w: 4 }, 2)).toThrow(/multiple of mergeSize 2/);
    expect(() => visionTokenCount({ t: 0, h: 4, w: 4 }, 2)).toThrow(/grid\.t/);
  });

  it('audio: matches the conv (k3 s2 p1) then avg-pool (k2 s2) lengths, counted by brute force', () => {
    for (let frames = 1; frames <= 300; frames++) {
      let afterConv = 0;
      for (let j = 0; 2 * j + 2 <= frames + 1; j++) afterConv++; // window j covers padded inputs 2j..2j+2 of frames+2
      const pooled = Math.floor(afterConv / 2);
      expect(audioTokenCount(frames), `frames ${frames}`).toBe(pooled);
    }
    expect(audioTokenCount(3000)).toBe(750); // 30 s of 10 ms frames → 25 tokens per second
    expect(() => audioTokenCount(0)).toThrow(/frames/);
  });
});
