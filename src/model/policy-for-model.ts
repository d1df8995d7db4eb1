/** Binding catalogue policies to a loaded model's shape. */
import { policies } from '../policies/catalog.js';
import type { PolicyEnv } from '../policies/registry.js';
import type { PolicyInstance } from '../cache/policy-api.js';
import type { Model } from './model.js';
import { inverseFrequencies, ropeAxes } from './rope.js';

/** What a policy may know about this model: its shape, each layer's W_o (CriticalKV) and its RoPE (ExpectedAttention). */
export function policyEnvFor(model: Model, seed = 0): PolicyEnv {
  const c = model.config;
  const layers = model.weights.layers;
  const outputProjection = (layer: number) => {
    const w = layers[layer];
    if (!w) throw new RangeError(`outputProjection: layer ${layer} is outside [0, ${layers.length})`);
    return w.o;
  };
  const rope = { rotaryDim: c.rope.rotaryDim, axes: ropeAxes(c.rope), inverseFrequencies: (seqLen: number) => inverseFrequencies(c.rope, seqLen) };
  return { numLayers: c.numLayers, qHeads: c.qHeads, kvHeads: c.kvHeads, headDim: c.headDim, seed, outputProjection, rope };
}

/** Binds a catalogue policy by name to this model (options validated by its schema). */
export function createPolicy(model: Model, name: string, options: unknown = {}, seed = 0): PolicyInstance {
  return policies.create(name, options, policyEnvFor(model, seed));
}
