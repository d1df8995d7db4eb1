import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ComputeBackend } from '../../../src/attention/backend.js';
import { loadAddon } from '../../../src/attention/native/addon.js';
import { selectBackend } from '../../../src/attention/select-backend.js';
import { tsBackend } from '../../../src/attention/ts-backend.js';
import { initModel } from '../../../src/model/init-model.js';
import { loadModel } from '../../../src/model/model.js';
import { compare, readTower, visionReference, type Grid, type VisionRefConfig } from './naive-reference.js';

const tmp = mkdtempSync(join(tmpdir(), 'kvprism-vision-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Deterministic pseudo-pixels in roughly the normalised range of the processor. */
function pixels(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.731 + seed) * 1.5);
}

const cases: { preset: 'tiny-qwen2-vl' | 'tiny-qwen2.5-vl' | 'tiny-qwen2.5-omni'; prefix: string; ref: VisionRefConfig; grids: Grid[] }[] = [
  {
    // Two videos of different grids: attention must stay inside each frame.
    preset: 'tiny-qwen2-vl', prefix: 'visual.',
    ref: { variant: 'qwen2_vl', depth: 2, heads: 2, merge: 2, patchSize: 14 },
    grids: [{ t: 2, h: 4, w: 6 }, { t: 3, h: 6, w: 2 }],
  },
  {
    // 2×2-token windows: a 3×5 merged grid leaves partial edge windows; a 2×2 grid fills one exactly.
    preset: 'tiny-qwen2.5-vl', prefix: 'visual.',
    ref: { variant: 'qwen2_5_vl', depth: 3, heads: 2, merge: 2, patchSize: 14, windowSize: 56, fullatt: [1] },
    grids: [{ t: 1, h: 6, w: 10 }, { t: 2, h: 4, w: 4 }, { t: 1, h: 2, w: 6 }],
  },
  {
    preset: 'tiny-qwen2.5-omni', prefix: 'thinker.visual.',
    ref: { variant: 'qwen2_5_omni', depth: 2, heads: 2, merge: 2, patchSize: 14, windowSize: 56, fullatt: [1] },
    grids: [{ t: 2, h: 6, w: 6 }, { t: 1, h: 8, w: 2 }],
  },
];

const backends: [string, () => ComputeBackend][] = [['ts', () => tsBackend]];
if (loadAddon()) backends.push(['cpu', () => selectBackend('cpu')]);

describe('vision tower vs an independent f64 reference', () => {
  for (const { preset, prefix, ref, grids } of cases) {
    const dir = join(tmp, preset);
    initModel({ preset, out: dir, seed: 7, std: 0.3 }); // std 0.3: peaked attention, so masks and windows matter
    const model = loadModel(dir);
    const tower = model.towers!.vision!;
    const n = grids.reduce((a, g) => a + g.t * g.h * g.w, 0);
    const px = pixels(n * tower.patchDim, 1);
    const expected = visionReference(readTower(dir, prefix), ref, px, grids);

    for (const [name, backend] of backends) {
      it(`${preset} on the ${name} backend`, () => {
        const out = tower.encode(backend(), px, grids);
        expect(out.length).toBe(tower.tokenCount(grids) * tower.config.outHiddenSize);
        const { maxDiff, scale } = compare(out, expected);
        expect(scale).toBeGreaterThan(0.5);
        expect(maxDiff).toBeLessThan(2e-6 * Math.max(1, scale));
      });
    }

    it(`${preset}: each frame / window is encoded on its own (the masks are real)`, () => {
      // Changing the pixels of the last grid leaves every token of the first grid unchanged.
      const changed = px.slice();
      const firstPatches = grids[0]!.t * grids[0]!.h * grids[0]!.w;
      for (let i = firstPatches * tower.patchDim; i < changed.length; i++) changed[i] = -changed[i]!;
      const a = tower.encode(tsBackend, px, grids);
      const b = tower.encode(tsBackend, changed, grids);
      const firstTokens = tower.tokenCount([grids[0]!]) * tower.config.outHiddenSize;
      expect(Array.from(b.subarray(0, firstTokens))).toEqual(Array.from(a.subarray(0, firstTokens)));
      expect(b.subarray(firstTokens).some((v, i) => v !== a[firstTokens + i])).toBe(true);
    });
  }

  it('bf16 weights stay bf16 and give the reference output of the decoded weights', () => {
    const dir = join(tmp, 'bf16');
    initModel({ preset: 'tiny-qwen2.5-vl', out: dir, seed: 3, std: 0.3, dtype: 'bf16' });
    const tower = loadModel(dir).towers!.vision!;
    expect(tower.weights.patchEmbed.dtype).toBe('bf16');
    expect(tower.weights.blocks[0]!.q.dtype).toBe('bf16');
    const grids = [{ t: 1, h: 4, w: 6 }];
    const px = pixels(24 * tower.patchDim, 2);
    const { maxDiff, scale } = compare(tower.encode(tsBackend, px, grids), visionReference(readTower(dir, 'visual.'), cases[1]!.ref, px, grids));
    expect(maxDiff).toBeLessThan(2e-6 * Math.max(1, scale));
  });

  it('rejects pixel arrays and grids that do not agree', () => {
    const tower = loadModel(join(tmp, 'tiny-qwen2-vl')).towers!.vision!;
    expect(() => tower.encode(tsBackend, new Float32Array(10), [{ t: 1, h: 2, w: 2 }])).toThrow(/pixelValues has 10 elements; grids need 4 patches × 1176/);
    expect(() => tower.encode(tsBackend, new Float32Array(6 * 1176), [{ t: 1, h: 2, w: 3 }])).toThrow(/not a multiple of mergeSize 2/);
    expect(() => tower.encode(tsBackend, new Float32Array(0), [])).toThrow(/grids is empty/);
  });
});
