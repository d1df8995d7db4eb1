/**
 * AccKV: Towards Efficient Audio-Video LLMs Inference via Adaptive-Focusing and
 * Cross-Calibration KV Cache Optimization — arXiv 2511.11106 (AAAI 2026).
 * Once after prefill, per KV head: redistributed attention scores (early-token bias removed),
 * re-weighted per layer by text→modality focusing weights; keep text + top media; merge the
 * dropped media into kept slots of the same modality; evict kept low-priority media whose keys
 * do not align with the high-priority modality's kept anchors.
 * Works with any number of media spans (image, video, audio codes); text is everything else.
 *
 * Ours where the paper is silent [INF], each an option below: the budget split (keep text,
 * global top-k), the merge target/variant, per-layer focusing, prefill only (decode tokens are
 * appended uncompressed: the plan is null during decode), and these defaults, chosen because
 * the literal readings misfire on post-RoPE keys (see acckv-focus.ts, acckv-calibrate.ts and
 * experiments/acckv/defects-check.yaml):
 * - focusMeasure 'matched-top' (old: 'token-mean', which favours the smaller modality);
 * - cross-calibration by the nearest anchor (max) at an absolute τ = 0.6, 'relative' as an
 *   option (old: mean cosine ≥ τ, bounded by the norm of the anchors' mean key direction);
 * - refill: slots freed by cross-calibration go to the next media slots by focused score (the
 *   low-priority ones only when they pass the same test against the same anchors), so the
 *   head ends at its budget (old: left below budget);
 * - evictedMerges 'redirect': dropped slots whose nearest kept slot was evicted merge into
 *   their nearest surviving slot of the same modality (old 'drop': their merge is lost, the
 *   literal "merge, then evict"). A slot evicted by calibration itself is not merged.
 * Ablations: redistribution (off → H2O accumulated attention), focusing (off → weights 1,
 * priority video > image > audio), intraMerge and crossCalibration (both off = "w/o C-C").
 */
import { z } from 'zod';
import { ModalityCode, NUM_MODALITIES } from '../../cache/modality.js';
import { checkBudget } from '../parts/compose.js';
import { MERGE_VARIANTS } from '../parts/merge.js';
import { planFromKeep } from '../parts/plan.js';
import { accumulatedScores, slotStat } from '../parts/scores.js';
import { allSlots, maskOf, unionSorted } from '../parts/select.js';
import { definePolicy } from '../registry.js';
import type { MergeOp, Plan, PolicyContext, PolicyInstance } from '../../cache/policy-api.js';
import { calibrate, calibrationThreshold, intraModalMerges } from './acckv-calibrate.js';
import { addMatchedTopMeans, focusScores, focusingWeights, weightsFromAggregates, type Focus } from './acckv-focus.js';
import { refillSlots, selectWithinBudget } from './acckv-select.js';
import { flowTotals, MEDIA_CODES, slotsByModality } from './modality-groups.js';

const NAME = 'acckv';

export const accKVOptions = z.object({
  redistribution: z.boolean().default(true).describe('A-R: score slots by redistributed attention Σ α_ij(i+1)/(L−j); off = H2O accumulated attention (ablation)'),
  focusing: z.boolean().default(true).describe('A-F: re-weight media scores by per-layer text→modality weights W_m; off = weights 1, priority video > image > audio (ablation)'),
  focusMeasure: z.enum(['matched-top', 'token-mean']).default('matched-top').describe("A-F aggregate S̄_m of text→slot attention: mean of each modality's k best slots, same k for all (default), or the per-token mean (notes' literal reading; favours the smaller modality) [INF]"),
  intraMerge: z.boolean().default(true).describe('C-C step 1: merge dropped media into the most key-similar kept slot of the same modality (ablation switch)'),
  crossCalibration: z.boolean().default(true).describe('C-C step 2: evict kept low-priority media whose key alignment with the high-priority anchors is below the threshold (ablation switch)'),
  tau: z.number().min(-1).max(1).default(0.6).describe('cross-calibration threshold τ (paper tried 0.6 and 0.9); relative mode: fraction of the anchors\' own coherence [INF default 0.6]'),
  aggregation: z.enum(['mean', 'max']).default('max').describe('c_q over anchors: nearest anchor (max, default) or mean cosine (the notes\' reading) [INF]'),
  threshold: z.enum(['absolute', 'relative']).default('absolute').describe('keep q iff c_q ≥ τ (absolute) or c_q ≥ τ·(mean leave-one-out aggregate of the anchors among themselves) (relative) [INF]'),
  refill: z.boolean().default(true).describe('refill slots freed by cross-calibration with the next media slots by focused score (low-priority ones must pass calibration); off = leave the head below budget [INF]'),
  evictedMerges: z.enum(['redirect', 'drop']).default('redirect').describe('dropped slots whose merge target was evicted by calibration go to their nearest surviving slot (redirect) or are lost (drop, the literal order) [INF]'),
  split: z.enum(['global', 'proportional']).default('global').describe('media budget: one global top-k over focused scores, or quotas ∝ W_m·|m| [INF]'),
  keepText: z.boolean().default(true).describe('keep every text slot and give media the rest of the budget [INF]'),
  mergeVariant: z.enum(MERGE_VARIANTS).default('average').describe('intra-modal merge operator (LOOK-M variants) [INF]'),
  focusingScope: z.enum(['layer', 'head']).default('layer').describe('focusing weights per layer (summed over KV heads) or per KV head [INF]'),
});
export type AccKVOptions = z.output<typeof accKVOptions>;

/** The focusing weights and priority AccKV uses for KV head h (same for all heads per layer). */
export function accKVFocus(ctx: PolicyContext, o: AccKVOptions, h: number): Focus {
  const heads = o.focusingScope === 'layer' ? Array.from({ length: ctx.view.kvHeads }, (_, i) => i) : [h];
  const counts = new Float64Array(NUM_MODALITIES);
  for (const k of heads) {
    const len = ctx.view.length(k);
    const mod = ctx.view.meta(k).modality;
    for (let j = 0; j < len; j++) counts[mod[j]!]!++;
  }
  if (!o.focusing) return weightsFromAggregates(new Float64Array(NUM_MODALITIES), counts, false);
  if (o.focusMeasure === 'token-mean') return focusingWeights(flowTotals(ctx.stats, heads, NAME), counts, true);
  const aggregate = new Float64Array(NUM_MODALITIES);
  for (const k of heads) addMatchedTopMeans(slotStat(ctx, 'textColumn', k, NAME), ctx.view.meta(k).modality, ctx.view.length(k), aggregate);
  return weightsFromAggregates(aggregate, counts, true);
}

/**
 * What AccKV decided for one layer. Step 6 leaves a head below budget by evicted − refilled
 * slots (all of `evicted` with refill off; some when too few slots qualify for a refill).
 */
export interface AccKVLayerReport {
  /** Focusing weight per modality code (of KV head 0 when focusingScope is 'head'). */
  weights: number[];
  /** High-priority modality code (-1 without media). */
  priority: number;
  /** Per KV head: kept low-priority slots evicted by cross-calibration. */
  evicted: number[];
  /** Per KV head: freed slots refilled with the next media slots. */
  refilled: number[];
}

/** A bound AccKV policy; `reports()` gives what the last prefill decided per layer. */
export interface AccKVInstance extends PolicyInstance {
  reports(): (AccKVLayerReport | null)[];
}

/**
 * AccKV's plan for one layer (null during decode or when every head is within budget); fills
 * `report` when given.
 */
export function planAccKV(ctx: PolicyContext, o: AccKVOptions, report?: AccKVLayerReport): Plan {
  if (ctx.phase !== 'prefill') return null;
  const budget = checkBudget(ctx.budget, ctx.layer);
  const { view } = ctx;
  const lengths = Array.from({ length: view.kvHeads }, (_, h) => view.length(h));
  if (lengths.every((len) => len <= budget)) return null;
  const layerFocus = o.focusingScope === 'layer' ? accKVFocus(ctx, o, 0) : undefined;
  if (report) {
    const f = layerFocus ?? accKVFocus(ctx, o, 0);
    Object.assign(report, { weights: Array.from(f.weights), priority: f.priority, evicted: [], refilled: [] });
  }
  const keep: Int32Array[] = [];
  const merges: MergeOp[][] = [];
  for (let h = 0; h < view.kvHeads; h++) {
    const len = lengths[h]!;
    if (len <= budget) {
      keep.push(allSlots(len));
      merges.push([]);
      report?.evicted.push(0);
      report?.refilled.push(0);
      continue;
    }
    const head = planHead(ctx, o, h, len, budget, layerFocus ?? accKVFocus(ctx, o, h));
    keep.push(head.keep);
    merges.push(head.merges);
    report?.evicted.push(head.evicted);
    report?.refilled.push(head.refilled);
  }
  return planFromKeep(keep, { merges });
}

interface HeadDecision {
  keep: Int32Array;
  merges: MergeOp[];
  evicted: number;
  refilled: number;
}

function planHead(ctx: PolicyContext, o: AccKVOptions, h: number, len: number, budget: number, focus: Focus): HeadDecision {
  const { view } = ctx;
  const meta = view.meta(h);
  const modality = meta.modality.subarray(0, len);
  const keys = view.keys(h);
  const scores = o.redistribution ? slotStat(ctx, 'redistributed', h, NAME) : accumulatedScores(ctx, h, NAME);
  const groups = slotsByModality(meta, len);
  const focused = focusScores(scores, modality, focus.weights);
  const selected = selectWithinBudget(focused, modality, groups, focus.weights, budget, o.split, o.keepText);
  const inGroup = (set: Int32Array) => {
    const mask = maskOf(len, set);
    return groups.map((g, m) => (m === ModalityCode.text ? new Int32Array(0) : g.filter((j) => mask[j] === 1)));
  };
  const mergesFor = (keep: Int32Array, targets: Int32Array, evicted: Uint8Array): MergeOp[] => {
    if (!o.intraMerge) return [];
    const isKept = maskOf(len, keep);
    const sources = groups.map((g, m) => (m === ModalityCode.text ? new Int32Array(0) : g.filter((j) => !isKept[j] && !evicted[j])));
    const ops = intraModalMerges(keys, view.headDim, inGroup(targets), sources, o.mergeVariant, meta.weight);
    return ops.filter((op) => !evicted[op.into]);
  };
  const none = new Uint8Array(len);
  if (!o.crossCalibration || focus.priority < 0) return { keep: selected, merges: mergesFor(selected, selected, none), evicted: 0, refilled: 0 };
  const anchors = inGroup(selected)[focus.priority]!;
  const threshold = calibrationThreshold(keys, view.headDim, anchors, o.tau, o.aggregation, o.threshold);
  const passes = (slots: Int32Array) => maskOf(len, calibrate(keys, view.headDim, slots, anchors, threshold, o.aggregation));
  const evicted = new Uint8Array(len);
  for (const m of MEDIA_CODES) {
    if (m === focus.priority) continue;
    const kept = inGroup(selected)[m]!;
    const pass = passes(kept);
    for (const q of kept) if (!pass[q]) evicted[q] = 1;
  }
  let keep: Int32Array = selected.filter((j) => !evicted[j]);
  const evictedCount = selected.length - keep.length;
  let refilled = 0;
  if (o.refill && keep.length < budget) {
    const extra = refillSlots(focused, modality, maskOf(len, selected), budget - keep.length, focus.priority, passes);
    refilled = extra.length;
    keep = unionSorted(keep, extra);
  }
  const targets = o.evictedMerges === 'redirect' ? keep : selected;
  return { keep, merges: mergesFor(keep, targets, evicted), evicted: evictedCount, refilled };
}

export const accKV = definePolicy({
  name: NAME,
  title: 'AccKV',
  kind: 'multimodal',
  paper: { title: 'AccKV: Towards Efficient Audio-Video LLMs Inference via Adaptive-Focusing and Cross-Calibration KV Cache Optimization', arxiv: '2511.11106', venue: 'AAAI 2026' },
  summary: 'Redistributed attention re-weighted by per-layer text→modality focus; keeps text and top media, merges dropped media within their modality, evicts low-priority media that do not align with the high-priority anchors.',
  options: accKVOptions,
  create(options): AccKVInstance {
    const reports: (AccKVLayerReport | null)[] = [];
    return {
      name: NAME,
      needs: {
        redistributed: options.redistribution,
        cumulative: !options.redistribution,
        flows: options.focusing && options.focusMeasure === 'token-mean',
        textColumn: options.focusing && options.focusMeasure === 'matched-top',
      },
      plan: (ctx) => {
        const report: AccKVLayerReport = { weights: [], priority: -1, evicted: [], refilled: [] };
        const plan = planAccKV(ctx, options, report);
        if (plan) reports[ctx.layer] = report;
        return plan;
      },
      reports: () => reports.slice(),
    };
  },
});
