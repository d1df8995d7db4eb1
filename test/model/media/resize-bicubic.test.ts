import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resizeBicubicRgb } from '../../../src/model/media/resize-bicubic.js';

/** The synthetic image of pil-reference/make_reference.py: [height][width][3] u8. */
function synthetic(width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  let i = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let v = (x * 37 + y * 91 + c * 53 + ((x * y) % 17) * 7) % 256;
        if ((Math.floor(x / 5) + Math.floor(y / 3)) % 2 === 0) v = 255 - Math.floor(v / 4);
        out[i++] = v;
      }
    }
  }
  return out;
}

interface Reference {
  pillow: string;
  cases: Array<{ source: [number, number]; target: [number, number]; rgb_base64: string }>;
}

const reference = JSON.parse(readFileSync(join(import.meta.dirname, 'pil-reference', 'bicubic.json'), 'utf8')) as Reference;

describe('resizeBicubicRgb matches Pillow Image.resize(BICUBIC) byte for byte', () => {
  for (const c of reference.cases) {
    const [sw, sh] = c.source;
    const [tw, th] = c.target;
    it(`${sw}x${sh} → ${tw}x${th} (Pillow ${reference.pillow})`, () => {
      const ours = resizeBicubicRgb(synthetic(sw, sh), sw, sh, tw, th);
      const pillow = new Uint8Array(Buffer.from(c.rgb_base64, 'base64'));
      expect(ours.length).toBe(pillow.length);
      let mismatches = 0;
      for (let i = 0; i < ours.length; i++) if (ours[i] !== pillow[i]) mismatches++;
      expect(mismatches).toBe(0);
    });
  }

  it('returns the input unchanged when the size does not change', () => {
    const img = synthetic(28, 28);
    expect(resizeBicubicRgb(img, 28, 28, 28, 28)).toBe(img);
  });

  it('rejects a buffer that is not width × height RGB', () => {
    expect(() => resizeBicubicRgb(new Uint8Array(10), 2, 2, 4, 4)).toThrow(/not 2x2 RGB/);
  });
});
