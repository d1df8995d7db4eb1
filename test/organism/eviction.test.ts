import { describe, expect, it } from 'vitest';
import { OrtKernels } from '../../src/model/organism/ort-kernels.js';
import { forward } from '../../src/model/organism/forward.js';
import { initParams } from '../../src/model/organism/params.js';
import { encodePrompt, makeBatch, makeVocabulary } from '../../src/model/organism/sequence.js';
import { evictionMask, evictionSweep, keepSet, mediaPrefix } from '../../src/model/organism/eviction-eval.js';
import { attentionMassByModality } from '../../src/model/organism/attention-mass.js';
import { organismConfig } from '../../src/model/organism/train.js';
import { avWorldSamples, Rng, worldVocabulary } from '../../src/datasets/av-world/index.js';

describe('organism eviction check', () => {
  const config = organismConfig({ layers: 2, hidden: 32, intermediate: 48, headDim: 8 });
  const rng = new Rng(9);
  const model = { config, params: initParams(config, () => rng.normal()) };
  // Larger weights than the init so that attention is far from uniform.
  for (const t of model.params.values()) for (let i = 0; i < t.data.length; i++) t.data[i] += 0.2 * rng.normal();
  const vocab = makeVocabulary(worldVocabulary());
  const [sample] = avWorldSamples({ preset: 'tiny', split: 'test', count: 1 });
  const enc = encodePrompt(sample!.prompt, vocab);
  const prefix = mediaPrefix(enc.modality);

  it('finds the media prefix: BOS + all media rows, the question after it', () => {
    expect(prefix).toBe(1 + 8 * 26);
    expect(enc.n - prefix).toBe(sample!.prompt.segments.at(-1)!.kind === 'text' ? (sample!.prompt.segments.at(-1) as { text: string }).text.split(' ').length : 0);
  });

  it('keeps exactly the budget; StreamingLLM keeps sinks and the recent window; SnapKV keeps its window', async () => {
    const k = await OrtKernels.create(1);
    const f = await forward(k, model, makeBatch([enc], [[[enc.n - 1, 0]]], vocab.pad), { withProbs: true });
    for (const policy of ['random', 'streaming-llm', 'snapkv', 'snapkv-question'] as const) {
      for (const budget of [0, 1, 21, prefix]) {
        const keep = keepSet(policy, prefix, budget, enc.n, config.heads, config.kvHeads, f.probs![0], new Rng(1));
        expect(keep).toHaveLength(config.kvHeads);
        for (const kh of keep) expect(kh.reduce((a, b) => a + b, 0)).toBe(budget);
      }
    }
    const s = keepSet('streaming-llm', prefix, 21, enc.n, config.heads, config.kvHeads, undefined, new Rng(1))[0]!;
    expect(Array.from(s.slice(0, 4))).toEqual([1, 1, 1, 1]);
    expect(s[4]).toBe(0);
    expect(s.slice(prefix - 17).every((x) => x === 1)).toBe(true);
    const snap = keepSet('snapkv', prefix, 40, enc.n, config.heads, config.kvHeads, f.probs![0], new Rng(1))[1]!;
    expect(snap.slice(prefix - 32).every((x) => x === 1)).toBe(true);
  });

  it('a mask that keeps everything reproduces the full forward; evicting all media changes the answer logits', async () => {
    const k = await OrtKernels.create(1);
    const batch = makeBatch([enc], [[[enc.n - 1, 0]]], vocab.pad);
    const full = await forward(k, model, batch);
    const all = Array.from({ length: config.kvHeads }, () => new Uint8Array(prefix).fill(1));
    const kept = await forward(k, model, batch, { mask: () => ({ mask: evictionMask(all, prefix, enc.n, config.heads), dims: [1, config.heads, enc.n, enc.n] }) });
    for (let j = 0; j < config.vocab; j++) expect(kept.logits[j]).toBeCloseTo(full.logits[j]!, 4);
    const none = Array.from({ length: config.kvHeads }, () => new Uint8Array(prefix));
    const gone = await forward(k, model, batch, { mask: () => ({ mask: evictionMask(none, prefix, enc.n, config.heads), dims: [1, config.heads, enc.n, enc.n] }) });
    expect(Math.max(...Array.from(gone.logits, (x, j) => Math.abs(x - full.logits[j]!)))).toBeGreaterThan(1e-3);
    const sweep = await evictionSweep(k, model, vocab, [sample!], ['random', 'snapkv'], [1, 0.1]);
    const fr = sweep.get('full')![0]!;
    sweep.get('random@1')![0]!.scores.forEach((x, i) => expect(x).toBeCloseTo(fr.scores[i]!, 4));
    expect(sweep.get('snapkv@0.1')![0]!.scores.some((x, i) => Math.abs(x - fr.scores[i]!) > 1e-4)).toBe(true);
  });

  it('attention mass by modality is a distribution per layer', async () => {
    const k = await OrtKernels.create(1);
    const m = await attentionMassByModality(k, model, vocab, [sample!]);
    expect(m.mass).toHaveLength(config.layers);
    for (const row of m.mass) {
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      expect(row[1]).toBe(0);
    }
  });
});
