/**
 * A policy built from parts in the config, without code: a scorer (which slots matter), an
 * allocator (how many slots each layer / head keeps) and a reducer (what happens to the rest).
 *   policy: { compose: { scorer: keydiff, allocator: adakv, reducer: merge } }
 * No paper: this is the composition kvpress's presses and kvprism's named methods share.
 * Allocators: uniform (every head B), pyramid (PyramidKV's layer budgets, β), adakv (AdaKV's
 * per-head budgets over the scorer's scores, floor α), d2o / meda (layer budgets from the
 * prefill's attention density / cross-modal entropy, the named policies' own allocators) and
 * madakv (each head's budget split between modalities by its text→modality attention, MadaKV's
 * rule over the scorer's scores). Reducers: evict (drop) or merge (each evicted slot folds into
 * its most key-similar kept slot, LOOK-M's variants).
 */
import { z } from 'zod';
import { mergeNeeds, type StatNeeds } from '../../attention/stats.js';
import { definePolicy } from '../registry.js';
import type { LayerAllocationArgs, Plan, PolicyContext } from '../../cache/policy-api.js';
import { adaptiveHeadBudgets, pyramidLayerBudgets, weightedLayerBudgets } from '../parts/allocators.js';
import { softmax } from '../parts/entropy.js';
import { checkBudget } from '../parts/compose.js';
import { mergeIntoNearest } from '../parts/merge.js';
import { mergeVariantOption } from '../parts/options.js';
import { planFromKeep } from '../parts/plan.js';
import { allSlots, complement, topK } from '../parts/select.js';
import { modalitySplitKeep } from '../eviction/madakv.js';
import { attentionDensity, d2oOptions } from '../merging/d2o.js';
import { crossModalEntropy, medaOptions } from '../merging/meda.js';
import { bindScorer, checkScorerOptions, scorerOption, scorerOptionsOption, type BoundScorer } from './scorers.js';

/** Registry name of the composed policy (configs write `compose:` instead of `name:`). */
export const COMPOSED_POLICY = 'compose';

export const ALLOCATORS = ['uniform', 'pyramid', 'adakv', 'd2o', 'meda', 'madakv'] as const;
export type AllocatorName = (typeof ALLOCATORS)[number];
export const REDUCERS = ['evict', 'merge'] as const;

export const composedOptions = z
  .object({
    scorer: scorerOption('snapkv'),
    scorerOptions: scorerOptionsOption(),
    allocator: z
      .enum(ALLOCATORS)
      .default('uniform')
      .describe('budget allocator: uniform (B per head), pyramid (layer budgets fall with depth), adakv (per-head budgets from the scores), d2o (layer budgets from attention density), meda (layer budgets from cross-modal entropy), madakv (per-head modality split by text→modality attention)'),
    beta: z.number().min(1).default(20).describe('pyramid steepness β (allocator: pyramid)'),
    floorRatio: z.number().min(0).max(1).default(0.2).describe('AdaKV floor α: each head keeps at least ⌊α·B⌋ (allocator: adakv)'),
    layerMix: d2oOptions.shape.layerMix.describe('0 = uniform layer budgets, 1 = fully proportional to attention density (allocator: d2o)'),
    temperature: medaOptions.shape.temperature.describe('softmax temperature over the layers’ cross-modal entropies, lower = more skewed (allocator: meda)'),
    reducer: z.enum(REDUCERS).default('evict').describe('what happens to the slots not kept: evict (drop) or merge (into the most key-similar kept slot)'),
    merge: mergeVariantOption('average'),
  })
  .superRefine(checkScorerOptions);
export type ComposedOptions = z.output<typeof composedOptions>;

/** Kept slots per KV head, from the allocator and the scores; null when within budget. */
function keepPerHead(ctx: PolicyContext, scorer: BoundScorer, o: ComposedOptions): Int32Array[] | null {
  const B = checkBudget(ctx.budget, ctx.layer);
  const H = ctx.view.kvHeads;
  const lens = Array.from({ length: H }, (_, h) => ctx.view.length(h));
  if (o.allocator === 'adakv') {
    if (lens.reduce((a, b) => a + b, 0) <= B * H) return null;
    const scores = lens.map((_, h) => scorer.score(ctx, h));
    const budgets = adaptiveHeadBudgets(scores, B, o.floorRatio);
    return scores.map((s, h) => topK(s, budgets[h]!));
  }
  if (lens.every((l) => l <= B)) return null;
  if (o.allocator === 'madakv') return lens.map((l, h) => (l <= B ? allSlots(l) : modalitySplitKeep(ctx, h, scorer.score(ctx, h), B, 'compose:madakv')));
  return lens.map((l, h) => (l <= B ? allSlots(l) : topK(scorer.score(ctx, h), B)));
}

/** Statistics the allocator reads on top of the scorer's. */
const ALLOCATOR_NEEDS: Record<AllocatorName, StatNeeds> = {
  uniform: {},
  pyramid: {},
  adakv: {},
  d2o: { cumulative: true },
  meda: { cumulative: true, textColumn: true, flows: true },
  madakv: { flows: true },
};

/** The layer allocator of the choice (null: every layer keeps the base budget). */
function layerAllocator(o: ComposedOptions): ((a: LayerAllocationArgs) => number[]) | null {
  switch (o.allocator) {
    case 'pyramid':
      return (a) => pyramidLayerBudgets(a.base, a.numLayers, o.beta);
    case 'd2o':
      return (a) => weightedLayerBudgets(a.stats.map((s) => attentionDensity(s.cumulative)), a.base, o.layerMix);
    case 'meda':
      return (a) => weightedLayerBudgets(softmax(a.stats.map((s) => crossModalEntropy(s, a.meta)), o.temperature), a.base, 1);
    default:
      return null;
  }
}

function composedPlan(ctx: PolicyContext, scorer: BoundScorer, o: ComposedOptions): Plan {
  const keep = keepPerHead(ctx, scorer, o);
  if (!keep) return null;
  if (o.reducer === 'evict') return planFromKeep(keep);
  const d = ctx.view.headDim;
  const merges = keep.map((k, h) => {
    const len = ctx.view.length(h);
    return mergeIntoNearest(ctx.view.keys(h).subarray(0, len * d), d, complement(len, k), k, o.merge, { weights: ctx.view.meta(h).weight });
  });
  return planFromKeep(keep, { merges });
}

export const composed = definePolicy({
  name: COMPOSED_POLICY,
  title: 'Composed policy',
  kind: 'eviction',
  summary: 'A scorer × allocator × reducer chosen in the config (policy: { compose: { scorer, allocator, reducer } }).',
  options: composedOptions,
  create(o, env) {
    const scorer = bindScorer(o.scorer, o.scorerOptions, env);
    const needs = mergeNeeds(scorer.needs, ALLOCATOR_NEEDS[o.allocator]);
    const instance = { name: `compose(${o.scorer}+${o.allocator}+${o.reducer})`, needs, plan: (ctx: PolicyContext) => composedPlan(ctx, scorer, o) };
    const allocateLayers = layerAllocator(o);
    return allocateLayers ? { ...instance, allocateLayers } : instance;
  },
});
