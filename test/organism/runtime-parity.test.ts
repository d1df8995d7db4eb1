import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../../src/model/model.js';
import { scoreChoices } from '../../src/model/score.js';
import { saveOrganism } from '../../src/organism/hf-folder.js';
import { organismConfig } from '../../src/organism/train.js';
import { initParams } from '../../src/organism/params.js';
import { OrtKernels } from '../../src/organism/ort-kernels.js';
import { scoreSamples } from '../../src/organism/evaluate.js';
import { makeVocabulary } from '../../src/organism/sequence.js';
import { avWorldSamples, Rng, worldVocabulary } from '../../src/datasets/av-world/index.js';

describe('organism forward vs the project runtime', () => {
  it('the runtime loads an organism folder and scores choices exactly as the training forward', async () => {
    const rng = new Rng(3);
    const config = organismConfig({ layers: 2 });
    const model = { config, params: initParams(config, () => rng.normal()) };
    for (const t of model.params.values()) for (let i = 0; i < t.data.length; i++) t.data[i] += 0.1 * rng.normal();
    const dir = mkdtempSync(join(tmpdir(), 'organism-parity-'));
    saveOrganism(dir, model, worldVocabulary());
    const runtime = loadModel(dir);
    const samples = avWorldSamples({ preset: 'tiny', split: 'test', count: 6 });
    const mine = await scoreSamples(await OrtKernels.create(1), model, makeVocabulary(worldVocabulary()), samples, 3);
    samples.forEach((s, i) => {
      const r = scoreChoices(runtime, s);
      // Runtime log-probabilities and our raw logits differ by one log-partition constant per sample.
      const off = r.logProbs[0]! - mine[i]!.scores[0]!;
      r.logProbs.forEach((lp, c) => expect(lp - off).toBeCloseTo(mine[i]!.scores[c]!, 3));
      expect(r.predicted).toBe(mine[i]!.predicted);
    });
  });
});
