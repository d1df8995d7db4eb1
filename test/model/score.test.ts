import { describe, expect, it } from 'vitest';
import { Decoder } from '../../src/model/decoder.js';
import { embedPrompt } from '../../src/model/embed-prompt.js';
import { loadModel } from '../../src/model/model.js';
import type { QASample } from '../../src/model/prompt.js';
import { logSoftmax } from '../../src/model/sampling.js';
import { scoreChoices } from '../../src/model/score.js';
import { createPolicy } from '../../src/model/policy-for-model.js';
import { LONG_STORY, STORIES_DIR } from './fixtures.js';

const model = loadModel(STORIES_DIR);
const sample: QASample = {
  id: 's1',
  family: 'names',
  prompt: { segments: [{ kind: 'text', text: 'Once upon a time, there was a little girl named' }] },
  choices: ['Lily', 'Max', 'a big red ball'],
  answer: 0,
};

/** log p(choice | prompt) by independent batched prefills of prompt + choice prefix (no clone, no decode path). */
function independentLogProb(choice: string): number {
  const prompt = [1, ...model.tokenizer.encode('Once upon a time, there was a little girl named')];
  const ids = model.tokenizer.encode(choice);
  let lp = 0;
  for (let i = 0; i < ids.length; i++) {
    const dec = new Decoder(model);
    const logits = dec.prefill(dec.open(), embedPrompt(model, { segments: [{ kind: 'tokens', ids: [...prompt, ...ids.slice(0, i)] }], addBos: false }));
    lp += logSoftmax(logits)[ids[i]!]!;
  }
  return lp;
}

describe('scoreChoices', () => {
  it('scores every choice teacher-forced and predicts the story name', () => {
    const r = scoreChoices(model, sample);
    expect(model.tokenizer.encode('a big red ball').length).toBeGreaterThan(1);
    expect(r.predicted).toBe(0);
    expect(r.answerDistribution.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    for (let i = 0; i < 3; i++) expect(r.logProbs[i]).toBeCloseTo(independentLogProb(sample.choices[i]!), 4);
  });

  it('choices do not see each other (each multi-token choice scores on its own clone)', () => {
    const a = scoreChoices(model, sample);
    const b = scoreChoices(model, { ...sample, choices: [...sample.choices].reverse() });
    expect(b.logProbs.slice().reverse().map((x) => x.toFixed(6))).toEqual(a.logProbs.map((x) => x.toFixed(6)));
  });

  it('scores from the compressed cache under a policy', () => {
    const long: QASample = { ...sample, prompt: { segments: [{ kind: 'text', text: `${LONG_STORY} The girl with the red ball was named` }] }, choices: ['Lily', 'Tim', 'a big red ball'] };
    const full = scoreChoices(model, long);
    const tight = scoreChoices(model, long, { policy: createPolicy(model, 'snapkv'), budget: { tokens: 8 } });
    expect(tight.logProbs.every(Number.isFinite)).toBe(true);
    expect(tight.logProbs.some((x, i) => Math.abs(x - full.logProbs[i]!) > 1e-3)).toBe(true);
  });

  it('rejects empty choice lists and choices with no tokens', () => {
    expect(() => scoreChoices(model, { ...sample, choices: [] })).toThrow(/sample s1: choices is empty/);
    expect(() => scoreChoices(model, { ...sample, choices: ['Lily', ''] })).toThrow(/sample s1: choices\[1\] "" tokenizes to no tokens/);
  });
});
