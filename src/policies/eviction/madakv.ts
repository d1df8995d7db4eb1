/**
 * MadaKV — "MadaKV: Adaptive Modality-Perception KV Cache Eviction for Efficient Multimodal
 * Long-Context Inference" (Li, Jiang et al., ACL 2025, arXiv 2506.15724). Each head has its own
 * modality preference — the share of attention its queries give each modality — and its budget
 * is split between modalities in that proportion; within a modality the best slots by attention
 * survive.
 * Ours [INF, from the abstract and our notes; no public code]: the preference of KV head h is
 * the attention mass from text queries to each key modality in the prefill call (flows
 * statistic, summed over the GQA group); the observation window (SnapKV scores, window kept)
 * ranks slots within a modality; quotas are rounded to whole slots (largest remainder) and a
 * quota larger than its modality spills to the best remaining slots of any modality; the
 * paper's hierarchical compression compensation (moving budget across layers) is left out.
 */
import { z } from 'zod';
import { ModalityCode, NUM_MODALITIES } from '../../cache/modality.js';
import type { PolicyContext } from '../../cache/policy-api.js';
import { definePolicy } from '../registry.js';
import { roundToTotal } from '../parts/allocators.js';
import { planPerHead } from '../parts/compose.js';
import { kernelOption, poolingOption, windowOption } from '../parts/options.js';
import { allSlots, maskOf, topK, unionSorted } from '../parts/select.js';
import { flowTotals, slotsByModality } from '../multimodal/modality-groups.js';
import { observationScores } from './snapkv.js';

export const madaKVOptions = z.object({
  window: windowOption(32),
  kernel: kernelOption(5),
  pooling: poolingOption('avg'),
});
export type MadaKVOptions = z.output<typeof madaKVOptions>;

/**
 * Modality preference of KV head h: [NUM_MODALITIES] shares summing to 1 of the attention mass
 * text queries gave each key modality; falls back to slot counts when that mass is zero.
 */
export function modalityPreference(ctx: PolicyContext, h: number, counts: ArrayLike<number>, policy = 'madakv'): Float64Array {
  const flows = flowTotals(ctx.stats, [h], policy);
  const pref = Float64Array.from({ length: NUM_MODALITIES }, (_, km) => flows[ModalityCode.text * NUM_MODALITIES + km]!);
  let sum = pref.reduce((a, b) => a + b, 0);
  if (!(sum > 0)) {
    for (let m = 0; m < NUM_MODALITIES; m++) pref[m] = counts[m]!;
    sum = pref.reduce((a, b) => a + b, 0);
  }
  return pref.map((p) => (sum > 0 ? p / sum : 0));
}

/**
 * MadaKV's budget split for one head over any slot scores (also the compose allocator
 * "madakv"). scores: [len] (higher = keep; +Infinity = protected, e.g. an observation window).
 * The protected slots are kept first (the latest `budget` of them when they are more); the rest
 * of the budget is split between modalities by the head's preference (needs `flows`), each
 * modality keeping its best slots by score; a quota larger than its modality spills to the best
 * remaining unprotected slots of any modality. Returns the kept slots, ascending.
 */
export function modalitySplitKeep(ctx: PolicyContext, h: number, scores: Float32Array, budget: number, policy: string): Int32Array {
  const len = scores.length;
  const isProtected = Uint8Array.from(scores, (s) => (s === Infinity ? 1 : 0));
  const protectedSlots = Int32Array.from(allSlots(len).filter((j) => isProtected[j] === 1));
  const window = protectedSlots.subarray(Math.max(0, protectedSlots.length - budget));
  const groups = slotsByModality(ctx.view.meta(h), len).map((g) => g.filter((j) => isProtected[j] === 0));
  const pref = modalityPreference(ctx, h, groups.map((g) => g.length), policy);
  const rest = budget - window.length;
  const quotas = roundToTotal(Array.from(pref, (p) => p * rest), rest);
  const parts = groups.map((g, m) => topK(Float32Array.from(g, (j) => scores[j]!), quotas[m]!).map((i) => g[i]!));
  const taken = unionSorted(...parts);
  const mark = maskOf(len, taken);
  const spill = topK(scores, rest - taken.length, (j) => isProtected[j] === 0 && !mark[j]);
  return unionSorted(taken, spill, window);
}

/** MadaKV's keep rule for one head: window + per-modality quotas of the rest by preference. */
export function madaKVKeep(ctx: PolicyContext, h: number, o: MadaKVOptions): Int32Array {
  return modalitySplitKeep(ctx, h, observationScores(ctx, h, o, 'madakv'), ctx.budget, 'madakv');
}

export const madaKV = definePolicy({
  name: 'madakv',
  title: 'MadaKV',
  kind: 'multimodal',
  paper: { title: 'MadaKV: Adaptive Modality-Perception KV Cache Eviction for Efficient Multimodal Long-Context Inference', arxiv: '2506.15724', venue: 'ACL 2025' },
  summary: 'Per-head modality preference (attention mass from text to each modality) splits each head’s budget between modalities; window attention ranks slots within a modality.',
  options: madaKVOptions,
  create(o) {
    return {
      name: 'madakv',
      needs: { window: o.window, flows: true },
      plan: (ctx) => planPerHead(ctx, (h) => madaKVKeep(ctx, h, o)),
    };
  },
});
