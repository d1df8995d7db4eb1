/**
 * Modality projectors (the format shared with the AV organism): encoder features
 * [n][featureDim] → embeddings [n][hidden] = linear_2(gelu_tanh(linear_1(x))). Weights are
 * `model.projectors.<modality>.linear_{1,2}.{weight,bias}`; config.json declares
 * `"kvprism": {"projectors": {"<modality>": {"feature_dim": F}}}`.
 */
import type { Modality } from '../cache/modality.js';
import type { Model } from './model.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** GELU, tanh approximation, in place. */
export function geluTanhInPlace(x: Float32Array): Float32Array {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    x[i] = 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v)));
  }
  return x;
}

/**
 * Projects features: [n][featureDim] f32 → [n][hidden] f32 written to `out` (or a new array).
 * Throws naming the modality when the model has no projector for it or the width is wrong.
 */
export function projectFeatures(model: Model, modality: Modality, features: Float32Array, n: number, featureDim: number, out?: Float32Array): Float32Array {
  const p = model.weights.projectors[modality];
  if (!p) {
    const have = Object.keys(model.weights.projectors);
    throw new Error(
      `${model.dir}: no projector for modality "${modality}" (config.json kvprism.projectors has ${have.length ? have.join(', ') : 'none'}); pass embeddings instead of features`,
    );
  }
  if (featureDim !== p.featureDim) throw new Error(`features for "${modality}" have featureDim ${featureDim}; the projector expects ${p.featureDim}`);
  if (features.length !== n * featureDim) throw new RangeError(`features for "${modality}" hold ${features.length} values; expected n×featureDim = ${n}×${featureDim}`);
  const b = model.backend;
  const hidden = geluTanhInPlace(b.linear(features, n, p.linear1, p.bias1));
  return b.linear(hidden, n, p.linear2, p.bias2, out);
}
