/**
 * Policies bound to a real checkpoint (stories260K): policyEnvFor hands CriticalKV the model's
 * W_o and ExpectedAttention its RoPE, and both compress a real generation to the budget.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tsBackend } from '../../src/attention/ts-backend.js';
import { generate } from '../../src/model/generate.js';
import { loadModel } from '../../src/model/model.js';
import { createPolicy, policyEnvFor } from '../../src/model/policy-for-model.js';
import { inverseFrequencies } from '../../src/model/rope.js';

const modelDir = fileURLToPath(new URL('../../../shared/models/stories260K', import.meta.url));
const model = loadModel(modelDir, { backend: tsBackend });
const prompt = { segments: [{ kind: 'text' as const, text: 'Once upon a time, there was a little dog named Max. Max loved to run in the park with his friend Sue.' }] };

describe('policies bound to a model', () => {
  it('policyEnvFor gives each layer’s o_proj and the model’s RoPE', () => {
    const c = model.config;
    const env = policyEnvFor(model, 3);
    expect(env).toMatchObject({ numLayers: c.numLayers, qHeads: c.qHeads, kvHeads: c.kvHeads, headDim: c.headDim, seed: 3 });
    const wo = env.outputProjection!(c.numLayers - 1);
    expect(wo).toBe(model.weights.layers[c.numLayers - 1]!.o);
    expect(wo.inFeatures).toBe(c.qHeads * c.headDim);
    expect(() => env.outputProjection!(c.numLayers)).toThrow(/outputProjection: layer \d+ is outside/);
    expect(env.rope!.axes).toBe(1);
    expect(Array.from(env.rope!.inverseFrequencies(64))).toEqual(Array.from(inverseFrequencies(c.rope, 64)));
  });
  it.each([
    ['criticalkv', { window: 4 }],
    ['expected-attention', { window: 8, keepRecent: 4 }],
  ])('%s compresses a real prefill to a quarter', (name, options) => {
    const full = generate(model, prompt, { maxNewTokens: 4 });
    const out = generate(model, prompt, { maxNewTokens: 4, session: { policy: createPolicy(model, name, options), budget: { ratio: 0.25 } } });
    const ratio = out.bytesAfterPrefill.kvBytes / full.bytesAfterPrefill.kvBytes;
    expect(ratio).toBeGreaterThan(0.2);
    expect(ratio).toBeLessThan(0.3);
    expect(out.tokens.length).toBe(4);
  });
});
