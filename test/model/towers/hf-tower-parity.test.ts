/**
 * Tower outputs vs Hugging Face transformers' own tower modules, on the tiny presets with the
 * inputs of hf-reference/tower-models.ts. Runs when hf-reference/tower_reference.json exists
 * (made by make_tower_reference.py where PyTorch is installed); until then it is skipped and
 * the towers are checked against the independent f64 reference (vision-tower / audio-tower tests).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tsBackend } from '../../../src/attention/ts-backend.js';
import { loadModel } from '../../../src/model/model.js';
import { readTowerReference, TOWER_PARITY, towerInputs, writeTowerParityModels } from '../hf-reference/tower-models.js';

const reference = readTowerReference();

function expectClose(ours: Float32Array, theirs: number[][], label: string): void {
  const cols = theirs[0]!.length;
  expect(ours.length, label).toBe(theirs.length * cols);
  let worst = 0;
  let scale = 0;
  theirs.forEach((r, i) => r.forEach((v, j) => {
    worst = Math.max(worst, Math.abs(ours[i * cols + j]! - v));
    scale = Math.max(scale, Math.abs(v));
  }));
  expect(worst, label).toBeLessThan(1e-4 * Math.max(1, scale));
}

describe.skipIf(reference === undefined)('tower parity with Hugging Face transformers', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'kvprism-hf-towers-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const dirs = writeTowerParityModels(tmp);
  for (const m of TOWER_PARITY) {
    it(`${m.name}: vision${m.audio ? ' and audio' : ''} tokens match`, () => {
      const ref = reference![m.name];
      expect(ref, `tower_reference.json has no entry for ${m.name}; rerun make_tower_reference.py`).toBeDefined();
      const model = loadModel(dirs.get(m.name)!);
      const { pixels, mel } = towerInputs(m);
      expectClose(model.towers!.vision!.encode(tsBackend, pixels, m.grids), ref!.vision, `${m.name} vision`);
      if (m.audio) expectClose(model.towers!.audio!.encode(tsBackend, mel!, m.audio.frames, m.audio.valid), ref!.audio!, `${m.name} audio`);
    });
  }
});
