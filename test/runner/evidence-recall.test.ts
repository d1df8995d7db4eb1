import { describe, expect, it } from 'vitest';
import { CacheSession } from '../../src/cache/cache-session.js';
import { textMeta } from '../../src/cache/token-meta.js';
import { tsBackend } from '../../src/attention/ts-backend.js';
import { evidenceKept } from '../../src/runner/evidence-recall.js';
import { avWorldSamples, evidencePositions, clipForFamily, PRESETS, FAMILIES } from '../../src/datasets/av-world/index.js';
import { encodePrompt, makeVocabulary } from '../../src/organism/sequence.js';
import { worldVocabulary } from '../../src/datasets/av-world/index.js';
import { ModalityCode } from '../../src/cache/modality.js';

describe('evidence recall', () => {
  it('is the fraction of evidence positions still held, averaged over layers and KV heads', () => {
    const [L, H, D, n] = [2, 2, 4, 10];
    const s = new CacheSession({ numLayers: L, qHeads: H, kvHeads: H, headDim: D, backend: tsBackend });
    for (let l = 0; l < L; l++) s.append(l, new Float32Array(n * H * D), new Float32Array(n * H * D), textMeta(n));
    expect(evidenceKept(s, [2, 5, 7])).toBe(1);
    // layer 0 head 0 keeps positions 0..4; every other (layer, head) keeps everything.
    s.layer(0).apply({ heads: [{ keep: Int32Array.of(0, 1, 2, 3, 4) }, { keep: Int32Array.from({ length: n }, (_, i) => i) }] });
    expect(evidenceKept(s, [2, 5, 7])).toBeCloseTo((1 / 3 + 1 + 1 + 1) / 4, 12);
    expect(evidenceKept(s, [])).toBeUndefined();
  });

  it('AV-world samples name evidence positions that are media tokens of the prompt', () => {
    const vocab = makeVocabulary(worldVocabulary());
    for (const sample of avWorldSamples({ preset: 'tiny', split: 'test', count: 12 })) {
      const enc = encodePrompt(sample.prompt, vocab);
      if (sample.family === 'object-exists' && sample.choices[sample.answer] === 'no') continue;
      expect(sample.evidence!.length, sample.family).toBeGreaterThan(0);
      for (const p of sample.evidence!) expect(enc.ids[p], `${sample.family} position ${p}`).toBe(-1);
    }
    // The mapping agrees with the encoder's own media positions.
    const { clip, question } = clipForFamily(PRESETS.tiny, 'test', 0, 3, FAMILIES[3]!);
    const positions = evidencePositions(clip, question);
    const enc = encodePrompt({ segments: [...(avWorldSamples({ preset: 'tiny', split: 'test', count: 4 })[3]!.prompt.segments)], addBos: true }, vocab);
    for (const p of positions) expect(enc.modality[p]).toBe(ModalityCode.video); // moved-object evidence: the mover's patches
  });
});
