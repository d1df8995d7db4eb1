/** Binding catalogue policies to a loaded model's shape. */
import { policies } from '../policies/catalog.js';
import type { PolicyEnv } from '../policies/registry.js';
import type { PolicyInstance } from '../cache/policy-api.js';
import type { Model } from './model.js';

/** What a policy may know about this model: its shape and (CriticalKV) each layer's W_o. */
export function policyEnvFor(model: Model, seed = 0): PolicyEnv {
  const c = model.config;
  const layers = model.weights.layers;
  const outputProjection = (layer: number) => {
    const w = layers[layer];
    if (!w) throw new RangeError(`outputProjection: layer ${layer} is outside [0, ${layers.length})`);
    return w.o;
  };
  return { numLayers: c.numLayers, qHeads: c.qHeads, kvHeads: c.kvHeads, headDim: c.headDim, seed, outputProjection };
}

/** Binds a catalogue policy by name to this model (options validated by its schema). */
export function createPolicy(model: Model, name: string, options: unknown = {}, seed = 0): PolicyInstance {
  return policies.create(name, options, policyEnvFor(model, seed));
}
