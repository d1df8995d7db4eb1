/**
 * Catalogue traits of a policy, as `kvprism policies` lists them: whether it compresses without
 * the question (query-agnostic), without attention statistics (attention-free), whether it
 * needs a second model pass, or calibration data. Attention-freeness is read from the policy's
 * own `needs` at default options (so it cannot drift from the code); the rest is declared on
 * the definition (DeclaredTraits), query-agnostic defaulting to attention-free.
 */
import { needsAnything } from '../attention/stats.js';
import { parsePolicyOptions, type PolicyDefinition, type PolicyEnv } from './registry.js';

export interface PolicyTraits {
  queryAgnostic: boolean;
  attentionFree: boolean;
  secondPass: boolean;
  calibration: boolean;
}

/** A minimal model shape, enough to bind a policy and read its needs. */
const PROBE_ENV: PolicyEnv = { numLayers: 2, kvHeads: 1, qHeads: 1, headDim: 2, seed: 0, rope: { rotaryDim: 2, axes: 1, inverseFrequencies: () => Float64Array.of(1) } };

export function policyTraits(def: PolicyDefinition): PolicyTraits {
  const instance = def.create(parsePolicyOptions(def, {}), PROBE_ENV);
  const attentionFree = !needsAnything(instance.needs);
  return {
    queryAgnostic: def.traits?.queryAgnostic ?? attentionFree,
    attentionFree,
    secondPass: def.traits?.secondPass ?? false,
    calibration: def.traits?.calibration ?? false,
  };
}
