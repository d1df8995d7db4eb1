import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loadOrganism } from '../../src/organism/hf-folder.js';
import { OrtKernels } from '../../src/organism/ort-kernels.js';
import { avWorldSamples, withFrames, PRESETS } from '../../src/datasets/av-world/index.js';
import { evidenceAttention, evidenceAttentionTable } from '../../src/organism/evidence-attention.js';
import { encodePrompt, makeVocabulary } from '../../src/organism/sequence.js';

const dir = fileURLToPath(new URL('../../models/av-organism', import.meta.url));

describe('the answer row\'s attention on the evidence', () => {
  it('is 1 on every layer when every token is evidence, the uniform share is |E|/n, and rows without evidence are skipped', async () => {
    const { model, vocab } = loadOrganism(dir);
    const samples = avWorldSamples({ preset: withFrames(PRESETS.default, 8), split: 'test', count: 3, seed: 0 });
    const n = encodePrompt(samples[0]!.prompt, makeVocabulary(vocab.words)).n;
    const everything = { ...samples[0]!, family: 'x', evidence: Array.from({ length: n }, (_, i) => i) };
    const none = { ...samples[1]!, family: 'y', evidence: [] };
    const rows = await evidenceAttention(await OrtKernels.create(2), model, vocab, [everything, none]);
    expect(rows.map((r) => r.family)).toEqual(['x', 'all']);
    for (const r of rows) {
      expect(r.n).toBe(1);
      expect(r.share).toBeCloseTo(1, 6);
      for (let l = 0; l < model.config.layers; l++) {
        expect(r.meanHead[l]).toBeCloseTo(1, 4);
        expect(r.bestHead[l]).toBeCloseTo(1, 4);
      }
    }
  });

  it('the bundled organism, trained with an attention loss onto the evidence, reads av-visible evidence with most of one last-layer head', async () => {
    const { model, vocab } = loadOrganism(dir);
    const samples = avWorldSamples({ preset: withFrames(PRESETS.default, 16), split: 'test', count: 12, seed: 0 });
    const rows = await evidenceAttention(await OrtKernels.create(2), model, vocab, samples);
    const visible = rows.find((r) => r.family === 'av-visible')!;
    const last = model.config.layers - 1;
    expect(visible.n).toBe(2);
    expect(visible.bestHead[last]).toBeGreaterThan(0.5);
    expect(visible.bestHead[last]).toBeGreaterThan(20 * visible.share);
    for (const r of rows) for (let l = 0; l <= last; l++) expect(r.bestHead[l]! + 1e-9).toBeGreaterThanOrEqual(r.meanHead[l]!);
    expect(evidenceAttentionTable(rows)).toMatch(/\| all \| \d+ \| 0\.\d{3} \|/);
  });
});
