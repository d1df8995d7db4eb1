/**
 * Modality bookkeeping shared by the modality-aware methods (AccKV, FlowMM, RetentiveKV):
 * slot groups per modality code, layer-wide modality flows, and small normalisers.
 */
import { FLOW_STRIDE, type AttentionStats } from '../../attention/stats.js';
import { ModalityCode, NUM_MODALITIES } from '../../cache/modality.js';
import type { TokenMeta } from '../../cache/token-meta.js';

/** Slots of each modality code, ascending: result[code] (length NUM_MODALITIES). */
export function slotsByModality(meta: TokenMeta, len: number): Int32Array[] {
  const counts = new Int32Array(NUM_MODALITIES);
  for (let j = 0; j < len; j++) counts[checkedCode(meta.modality[j]!, j)]!++;
  const out = Array.from(counts, (c) => new Int32Array(c));
  const fill = new Int32Array(NUM_MODALITIES);
  for (let j = 0; j < len; j++) {
    const m = meta.modality[j]!;
    out[m]![fill[m]!++] = j;
  }
  return out;
}

/** Media (non-text) modality codes, in code order. */
export const MEDIA_CODES: readonly number[] = Array.from({ length: NUM_MODALITIES }, (_, m) => m).filter((m) => m !== ModalityCode.text);

/**
 * Σ over the given KV heads of the M×M flow matrices: out[qm·M + km] = attention mass from
 * queries of modality qm to slots of modality km (summed over the GQA group).
 */
export function flowTotals(stats: AttentionStats, heads: readonly number[], policy: string): Float64Array {
  const out = new Float64Array(FLOW_STRIDE * FLOW_STRIDE);
  for (const h of heads) {
    const f = stats.flows?.[h];
    if (!f) throw new Error(`${policy}: attention statistic "flows" is missing for KV head ${h}; the policy's needs must request it`);
    for (let i = 0; i < out.length; i++) out[i] += f[i]!;
  }
  return out;
}

/** Min-max normalisation to [0, 1] (all zeros when the range is empty). */
export function minMaxNormalize(x: ArrayLike<number>): Float32Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < x.length; i++) {
    lo = Math.min(lo, x[i]!);
    hi = Math.max(hi, x[i]!);
  }
  const out = new Float32Array(x.length);
  if (!(hi > lo)) return out;
  for (let i = 0; i < x.length; i++) out[i] = (x[i]! - lo) / (hi - lo);
  return out;
}

/** The q-quantile (0..1, linear interpolation) of values; NaN when empty. */
export function quantile(values: ArrayLike<number>, q: number): number {
  if (values.length === 0) return Number.NaN;
  const s = Float64Array.from(values).sort();
  const pos = Math.min(1, Math.max(0, q)) * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(s.length - 1, lo + 1);
  return s[lo]! + (pos - lo) * (s[hi]! - s[lo]!);
}

function checkedCode(m: number, slot: number): number {
  if (m >= NUM_MODALITIES) throw new RangeError(`slot ${slot} has modality code ${m}; expected 0..${NUM_MODALITIES - 1}`);
  return m;
}
