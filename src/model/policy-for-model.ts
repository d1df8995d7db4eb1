/** Binding catalogue policies to a loaded model's shape. */
import { policies } from '../policies/catalog.js';
import type { PolicyInstance } from '../cache/policy-api.js';
import type { Model } from './model.js';

/** Binds a catalogue policy by name to this model's shape (options validated by its schema). */
export function createPolicy(model: Model, name: string, options: unknown = {}, seed = 0): PolicyInstance {
  const c = model.config;
  return policies.create(name, options, { numLayers: c.numLayers, qHeads: c.qHeads, kvHeads: c.kvHeads, headDim: c.headDim, seed });
}
