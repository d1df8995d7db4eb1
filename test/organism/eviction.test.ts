import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../../src/model/model.js';
import { selectBackend } from '../../src/attention/select-backend.js';
import { scoreChoices } from '../../src/model/score.js';
import { evictionSettings, runtimeEvictionSweep, settingKey, sweepTables } from '../../src/organism/eval-cli.js';
import { attentionMassByModality, mediaPrefix } from '../../src/organism/attention-mass.js';
import { loadOrganism } from '../../src/organism/hf-folder.js';
import { OrtKernels } from '../../src/organism/ort-kernels.js';
import { encodePrompt } from '../../src/organism/sequence.js';
import { avWorldSamples } from '../../src/datasets/av-world/index.js';

// The committed organism (4 layers, 49 words) on short 'tiny' clips keeps this under a few seconds.
const dir = fileURLToPath(new URL('../../models/av-organism', import.meta.url));

describe('organism eviction check through the project runtime', () => {
  // Native CPU kernels when the addon is built (else the TS reference): same runtime path, faster.
  const model = loadModel(dir, { backend: selectBackend('auto', { threads: 1 }) });
  const samples = avWorldSamples({ preset: 'tiny', split: 'test', count: 3 });

  it('lists the full cache first, then each policy × ratio; SnapKV both query-aware and query-agnostic', () => {
    const s = evictionSettings([0.1, 0.2]);
    expect(s.map(settingKey)).toEqual([
      'full cache',
      'random@0.1', 'random@0.2',
      'streaming-llm@0.1', 'streaming-llm@0.2',
      'snapkv (query-aware)@0.1', 'snapkv (query-aware)@0.2',
      'snapkv (query-agnostic)@0.1', 'snapkv (query-agnostic)@0.2',
    ]);
    expect(s.filter((x) => !x.queryAware).map((x) => x.policy)).toEqual(['snapkv', 'snapkv']);
  });

  it('full cache equals plain scoreChoices; budgets physically shrink the cache; SnapKV differs from the full cache', () => {
    const settings = evictionSettings([0.1, 0.2]);
    const sweep = runtimeEvictionSweep(model, samples, settings, 0);
    const full = sweep.get('full cache')!;
    samples.forEach((s, i) => {
      const plain = scoreChoices(model, s, { policy: null });
      full.scored[i]!.scores.forEach((x, c) => expect(x).toBeCloseTo(plain.logProbs[c]!, 5));
      expect(full.scored[i]!.predicted).toBe(plain.predicted);
      expect(full.scored[i]!.answer).toBe(s.answer);
    });
    for (const [key, r] of sweep) {
      if (r.setting.policy === null) continue;
      r.kvBytes.forEach((b, i) => {
        const share = b / full.kvBytes[i]!;
        // Budget = ratio of the compressed prefix; the held-back tail (1 token, or the question) comes on top.
        expect(share, key).toBeGreaterThan(r.setting.ratio! - 0.02);
        expect(share, key).toBeLessThan(r.setting.ratio! + 0.08);
      });
    }
    for (const key of ['random@0.1', 'snapkv (query-aware)@0.1']) expect(sweep.get(key)!.kvBytes[0]).toBeLessThan(sweep.get(key.replace('0.1', '0.2'))!.kvBytes[0]!);
    // Reading the answer over 10 % of the cache must move the answer's log-probabilities.
    const snap = sweep.get('snapkv (query-agnostic)@0.1')!;
    expect(snap.scored.some((x, i) => x.scores.some((v, c) => Math.abs(v - full.scored[i]!.scores[c]!) > 1e-3))).toBe(true);
    const t = sweepTables(sweep, [0.1, 0.2]);
    expect(t.accuracy.split('\n')).toHaveLength(2 + 5);
    expect(t.bytes).toContain('| full cache | 100.0 % | 100.0 % |');
  });

  it('random eviction at 10 % is deterministic per seed and changes with it', () => {
    const random = evictionSettings([0.1]).filter((s) => s.policy === 'random');
    const a = runtimeEvictionSweep(model, samples, random, 4).get('random@0.1')!;
    const b = runtimeEvictionSweep(model, samples, random, 4).get('random@0.1')!;
    const c = runtimeEvictionSweep(model, samples, random, 5).get('random@0.1')!;
    expect(b.scored.map((x) => x.scores)).toEqual(a.scored.map((x) => x.scores));
    expect(c.scored.some((x, i) => x.scores.some((v, j) => v !== a.scored[i]!.scores[j]))).toBe(true);
  });

  it('attention mass by modality is a distribution per layer, measured after the media prefix', async () => {
    const { model: organism, vocab } = loadOrganism(dir);
    const enc = encodePrompt(samples[0]!.prompt, vocab);
    const prefix = mediaPrefix(enc.modality);
    expect(enc.modality[prefix - 1]).not.toBe(0);
    expect(Array.from(enc.modality.subarray(prefix)).every((m) => m === 0)).toBe(true);
    const m = await attentionMassByModality(await OrtKernels.create(1), organism, vocab, samples.slice(0, 1));
    expect(m.mass).toHaveLength(organism.config.layers);
    for (const row of m.mass) {
      expect(row.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 4);
      expect(row[1]).toBe(0);
    }
  });
});
