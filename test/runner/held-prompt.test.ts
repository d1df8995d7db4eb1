/**
 * The answer must come from the compressed cache: with the prompt's tail held back and decoded
 * after compression, the full cache reproduces plain scoring, and a small budget changes the
 * answer distribution even for single-token choices (which plain prefill logits never would).
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { embedPrompt } from '../../src/model/embed-prompt.js';
import { loadModel } from '../../src/model/model.js';
import { scoreChoices } from '../../src/model/score.js';
import { policies } from '../../src/policies/catalog.js';
import { experimentConfigSchema } from '../../src/runner/config-schema.js';
import { heldBackCount, splitPrompt } from '../../src/model/held-prompt.js';
import { loadJsonlDataset } from '../../src/runner/jsonl-dataset.js';
import { klDivergence } from '../../src/runner/metrics.js';
import { ModelExecutor } from '../../src/runner/model-executor.js';
import { expandTrials } from '../../src/runner/sweep.js';

const model = loadModel(fileURLToPath(new URL('../../../shared/models/stories260K', import.meta.url)));
const samples = loadJsonlDataset(fileURLToPath(new URL('../../datasets/samples/tiny-stories-qa.jsonl', import.meta.url)));
const trials = (queryAware: boolean) =>
  expandTrials(
    experimentConfigSchema.parse({
      model: 'm',
      dataset: { kind: 'jsonl', path: 'd' },
      policies: ['full', 'snapkv'],
      budgets: ['10%'],
      decodeTokens: 0,
      cache: { queryAware },
    }),
    policies,
  );

describe('answers read from the compressed cache', () => {
  it('holds back the last token (query-aware) or the trailing question (query-agnostic)', () => {
    const p = embedPrompt(model, samples[0]!.prompt);
    expect(heldBackCount(p, true)).toBe(1);
    expect(heldBackCount(p, false)).toBe(p.n - 1); // all text after BOS
    const span = embedPrompt(model, { segments: [{ kind: 'text', text: 'Hi' }, { kind: 'embeddings', modality: 'image', n: 2, data: new Float32Array(128) }] });
    expect(heldBackCount(span, true)).toBe(0);
    const { head, tail } = splitPrompt(p, 3);
    expect(head.n).toBe(p.n - 3);
    expect(tail).toEqual(Array.from(p.ids.slice(-3)));
    expect(head.ropeNext).toBe(p.n - 3);
  });

  it('with the full cache, held-back scoring equals plain scoring', async () => {
    const exec = new ModelExecutor(model);
    for (const queryAware of [true, false]) {
      const full = trials(queryAware).find((t) => t.policy === 'full')!;
      for (const s of samples.slice(0, 4)) {
        const ours = await exec.runSample(s, full);
        const plain = scoreChoices(model, s);
        expect(ours.predicted).toBe(plain.predicted);
        for (let i = 0; i < s.choices.length; i++) expect(ours.answerDistribution[i]).toBeCloseTo(plain.answerDistribution[i]!, 4);
      }
    }
  });

  it('a 10 % cache changes the distribution of single-token answers', async () => {
    const exec = new ModelExecutor(model);
    const [full, snap] = [trials(true).find((t) => t.policy === 'full')!, trials(true).find((t) => t.policy === 'snapkv')!];
    // The "word" family's choices are one token each: prefill logits alone would decide them.
    const single = samples.filter((s) => s.choices.every((c) => model.tokenizer.encode(c).length === 1));
    expect(single.length).toBeGreaterThanOrEqual(4);
    let kl = 0;
    for (const s of single) kl += klDivergence((await exec.runSample(s, full)).answerDistribution, (await exec.runSample(s, snap)).answerDistribution);
    expect(kl).toBeGreaterThan(1e-4);
  });
});
