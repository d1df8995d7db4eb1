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
import { audioTokenCount } from '../../../src/model/towers/token-counts.js';
import { audioReference, compare, readTower } from './naive-reference.js';

const tmp = mkdtempSync(join(tmpdir(), 'kvprism-audio-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const dir = join(tmp, 'omni');
initModel({ preset: 'tiny-qwen2.5-omni', out: dir, seed: 11, std: 0.3 });
const tower = loadModel(dir).towers!.audio!;
const weights = readTower(dir, 'thinker.audio_tower.');
const REF = { layers: 2, heads: 2, nWindow: 5 }; // chunks of 10 mel frames

/** Log-mel-like features [128][frames]. */
function features(frames: number, seed: number): Float32Array {
  return Float32Array.from({ length: 128 * frames }, (_, i) => Math.cos(i * 0.113 + seed) * 0.8 - 0.2);
}

const backends: [string, () => ComputeBackend][] = [['ts', () => tsBackend]];
if (loadAddon()) backends.push(['cpu', () => selectBackend('cpu')]);

describe('Omni audio encoder vs an independent f64 reference', () => {
  // 37 = 3 full chunks + 7 (odd tail); 20 = whole chunks; 33 of 40 columns valid; 11 = one frame in the last chunk.
  const clips: [frames: number, valid: number][] = [[37, 37], [20, 20], [40, 33], [11, 11]];
  for (const [frames, valid] of clips) {
    const f = features(frames, frames);
    const expected = audioReference(weights, REF, f, frames, valid);
    for (const [name, backend] of backends) {
      it(`${valid} of ${frames} frames on the ${name} backend`, () => {
        const out = tower.encode(backend(), f, frames, valid);
        expect(out.length / tower.config.outputDim).toBe(audioTokenCount(valid));
        const { maxDiff, scale } = compare(out, expected);
        expect(scale).toBeGreaterThan(0.5);
        expect(maxDiff).toBeLessThan(2e-6 * Math.max(1, scale));
      });
    }
  }

  it('attention stays inside each 2·n_window chunk', () => {
    // Changing only frames 20..29 (the third chunk) leaves the tokens of the first two chunks unchanged.
    const f = features(37, 1);
    const g = f.slice();
    for (let m = 0; m < 128; m++) for (let t = 20; t < 30; t++) g[m * 37 + t] = -g[m * 37 + t]!;
    const a = tower.encode(tsBackend, f, 37);
    const b = tower.encode(tsBackend, g, 37);
    const untouched = 5 * tower.config.outputDim; // 20 frames → 10 after the conv → 5 pooled tokens
    expect(Array.from(b.subarray(0, untouched))).toEqual(Array.from(a.subarray(0, untouched)));
    expect(b.subarray(untouched).some((v, i) => v !== a[untouched + i])).toBe(true);
  });

  it('frames past validFrames do not change the output', () => {
    const f = features(40, 3);
    const g = f.slice();
    for (let m = 0; m < 128; m++) for (let t = 33; t < 40; t++) g[m * 40 + t] = 99;
    expect(Array.from(tower.encode(tsBackend, g, 40, 33))).toEqual(Array.from(tower.encode(tsBackend, f, 40, 33)));
  });

  it('rejects features that do not match the config', () => {
    expect(() => tower.encode(tsBackend, new Float32Array(100), 10)).toThrow(/features has 100 elements; expected num_mel_bins × frames = 128 × 10/);
    expect(() => tower.encode(tsBackend, features(10, 0), 10, 11)).toThrow(/validFrames must be a whole number in \[2, 10\]/);
  });
});
