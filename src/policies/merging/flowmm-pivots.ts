/**
 * FlowMM (arXiv 2511.05534), Eqs. 8–10: proxy-token importance, pivots, and the
 * sensitivity-gated nearest-pivot assignment.
 *   I(j) = Σ_{i∈P} α_{i→j}  (P = the last nProxy prompt tokens: the `window` statistic, w = nProxy)
 *   pivots = top-B by I;   j*(i) = argmax_{j ∈ pivots, I_j ≤ τ [, same modality]} cos(k_i, k_j)
 *
 * Ours [INF]: the proxy tokens are always pivots (as SnapKV keeps its window); τ is by default
 * a quantile of I over the pivots that are not proxies (τ = the (1−q) quantile protects the
 * top q of them; the proxies' self-attention would otherwise fill the top quantile), or an
 * absolute value; a non-pivot without an admissible pivot is dropped and counted.
 *
 * Proxies [INF, default 'question']: the text after the last media slot (the question), as
 * many proxies as it has tokens; I(j) is then the `textColumn` statistic (Σ over text query
 * rows): text before the media can only see itself, so for media and question slots this is
 * exactly the question rows' attention, and only the leading text's own slots (the `<s>` sink,
 * always heavily attended) also count its rows. Without text after the media (query-agnostic
 * prefixes) or without media, the last nProxy prompt tokens are the proxies ('window', the old
 * default of 32: with 6–9 question words most proxies were media slots).
 */
import { mergeIntoNearest, type MergeVariant } from '../parts/merge.js';
import { keepTopWithRecent } from '../parts/select.js';
import type { MergeOp } from '../../cache/policy-api.js';
import { ModalityCode } from '../../cache/modality.js';
import type { TokenMeta } from '../../cache/token-meta.js';
import { quantile } from '../multimodal/modality-groups.js';
import type { MergeStrategy } from './flowmm-flow.js';

export type TauMode = 'quantile' | 'absolute';

/** Pivots of one head: the proxies (when kept) plus top-(budget − proxies) by importance. */
export function selectPivots(importance: ArrayLike<number>, len: number, budget: number, nProxy: number, keepProxy: boolean): Int32Array {
  return keepTopWithRecent(importance, len, budget, keepProxy ? nProxy : 0);
}

/**
 * τ for one head: absolute value, or the (1 − value) quantile of I over the pivots that are
 * not among the last `proxies` slots of len (over all pivots when every pivot is a proxy).
 */
export function sensitivityThreshold(importance: ArrayLike<number>, pivots: Int32Array, mode: TauMode, value: number, proxies = 0, len = Infinity): number {
  if (mode === 'absolute') return value;
  const firstProxy = len - proxies;
  const scope = pivots.filter((j) => j < firstProxy);
  return quantile(Array.from(scope.length > 0 ? scope : pivots, (j) => importance[j]!), 1 - value);
}

/**
 * The question of a prompt: how many trailing slots are text placed after the last media slot
 * (0 without media or without such text). meta: the slots of one head, in position order.
 */
export function questionLength(meta: TokenMeta, len: number): number {
  let lastMedia = -Infinity;
  for (let j = 0; j < len; j++) if (meta.modality[j] !== ModalityCode.text) lastMedia = Math.max(lastMedia, meta.position[j]!);
  if (lastMedia === -Infinity) return 0;
  let n = 0;
  for (let j = len - 1; j >= 0 && meta.modality[j] === ModalityCode.text && meta.position[j]! > lastMedia; j--) n++;
  return n;
}

export interface PivotMerges {
  merges: MergeOp[];
  /** Non-pivots that found no admissible pivot and were dropped. */
  unmatched: number;
}

/**
 * Each non-pivot goes to its most key-similar eligible pivot (of its own modality when the
 * strategy is 'intra'). keys: [len][headDim] f32; modality: [len] codes; weights: [len].
 */
export function mergeIntoPivots(
  keys: Float32Array,
  headDim: number,
  nonPivots: Int32Array,
  eligible: Int32Array,
  modality: Uint8Array,
  strategy: MergeStrategy,
  variant: MergeVariant,
  weights: ArrayLike<number>,
): PivotMerges {
  const merges: MergeOp[] = [];
  if (strategy === 'cross') {
    merges.push(...mergeIntoNearest(keys, headDim, nonPivots, eligible, variant, { weights }));
  } else {
    const codes = new Set<number>(Array.from(nonPivots, (j) => modality[j]!));
    for (const m of [...codes].sort((a, b) => a - b)) {
      const from = nonPivots.filter((j) => modality[j] === m);
      const into = eligible.filter((j) => modality[j] === m);
      merges.push(...mergeIntoNearest(keys, headDim, from, into, variant, { weights }));
    }
    merges.sort((a, b) => a.into - b.into);
  }
  let matched = 0;
  for (const op of merges) matched += op.from.length;
  return { merges, unmatched: nonPivots.length - matched };
}
