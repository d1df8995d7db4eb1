/**
 * Protocols: what the policy sees when it compresses. Query-aware: the whole prompt but its
 * last token (held back so the answer is read from the compressed cache). Query-agnostic:
 * the context only: no token of the question is in the cache, and the policy is told so. Both
 * through the own-prefill path (scoreChoices) and the shared path (a fork of runPrompt).
 */
import { describe, expect, it } from 'vitest';
import { ModalityCode } from '../../src/cache/modality.js';
import type { PolicyContext, PolicyInstance } from '../../src/cache/policy-api.js';
import { avWorldSamples } from '../../src/datasets/av-world/index.js';
import { Decoder } from '../../src/model/decoder.js';
import { embedPrompt } from '../../src/model/embed-prompt.js';
import { loadModel } from '../../src/model/model.js';
import { prepareSample, scoreChoices } from '../../src/model/score.js';
import { policies } from '../../src/policies/catalog.js';
import { experimentConfigSchema } from '../../src/runner/config-schema.js';
import { resolveModelDir } from '../../src/runner/run-experiment.js';
import { expandTrials } from '../../src/runner/sweep.js';

const model = loadModel(resolveModelDir('organism', '.'));
const sample = avWorldSamples({ preset: 'tiny', split: 'test', count: 1 })[0]!;
const prompt = embedPrompt(model, sample.prompt);
/** Prompt index of the question's first token: the trailing run of text tokens. */
let questionStart = prompt.n;
while (questionStart > 1 && prompt.meta.modality[questionStart - 1] === ModalityCode.text) questionStart--;

/** A policy that leaves the cache as it is (plan null) and records what it was shown at the end of the prefill. */
function recorder(seen: { promptLength: number; maxPosition: number; queryAware: boolean }[]): PolicyInstance {
  return {
    name: 'recorder',
    needs: {},
    plan: (ctx: PolicyContext) => {
      if (ctx.phase === 'prefill' && ctx.layer === 0) {
        const pos = ctx.view.meta(0).position.subarray(0, ctx.view.length(0));
        seen.push({ promptLength: ctx.promptLength, maxPosition: Math.max(...pos), queryAware: ctx.queryAware });
      }
      return null;
    },
  };
}

const trialOf = (protocol: 'query-aware' | 'query-agnostic') =>
  expandTrials(experimentConfigSchema.parse({ model: 'organism', dataset: { kind: 'av-world', preset: 'tiny' }, policies: ['h2o'], protocol }), policies)[0]!;

describe('protocols', () => {
  it('the sample has media, then a question of several text tokens', () => {
    expect(questionStart).toBeGreaterThan(100);
    expect(prompt.n - questionStart).toBeGreaterThan(2);
  });

  for (const [protocol, lastInCache] of [
    ['query-aware', () => prompt.n - 2],
    ['query-agnostic', () => questionStart - 1],
  ] as const) {
    it(`${protocol}: the cache at compression ends at prompt index ${protocol === 'query-aware' ? 'n − 2' : 'just before the question'}`, () => {
      const trial = trialOf(protocol);
      expect(trial.protocol).toBe(protocol);
      const seen: { promptLength: number; maxPosition: number; queryAware: boolean }[] = [];
      const options = { queryAware: trial.cache.queryAware, budget: { tokens: 1 }, policy: recorder(seen) };
      scoreChoices(model, sample, options);
      const prepared = prepareSample(model, sample, trial.cache.queryAware);
      const decoder = new Decoder(model);
      const shared = decoder.open({});
      decoder.runPrompt(shared, prepared.head);
      shared.fork({ ...options, policy: recorder(seen) }).session.endPrefill();
      const expected = { promptLength: lastInCache() + 1, maxPosition: lastInCache(), queryAware: protocol === 'query-aware' };
      expect(seen).toEqual([expected, expected]);
    });
  }
});
