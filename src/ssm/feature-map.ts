/**
 * Feature maps φ of linear attention, used by the state-space memory of RetentiveKV
 * (arXiv 2605.04075) to write keys and read with queries: readout = φ(q)·S / φ(q)·z.
 *
 * Ours [INF]: the paper names no feature map. `elu1` (elu(x)+1, Katharopoulos et al. 2020)
 * keeps every feature positive so the normaliser φ(q)·z is positive whenever anything was
 * written; `identity` reads the raw state (exact key match for orthogonal keys, but the
 * normaliser can vanish or change sign).
 */
export const FEATURE_MAPS = ['elu1', 'identity'] as const;
export type FeatureMap = (typeof FEATURE_MAPS)[number];

/**
 * out[0..d) = φ(x[offset..offset+d)); returns out.
 * x: f32 vectors laid end to end; out: [d] f64 scratch.
 */
export function applyFeatureMap(map: FeatureMap, x: Float32Array, offset: number, d: number, out: Float64Array): Float64Array {
  if (map === 'identity') {
    for (let i = 0; i < d; i++) out[i] = x[offset + i]!;
  } else {
    for (let i = 0; i < d; i++) {
      const v = x[offset + i]!;
      out[i] = v > 0 ? v + 1 : Math.exp(v);
    }
  }
  return out;
}
