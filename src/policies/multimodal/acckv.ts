/**
 * AccKV: Towards Efficient Audio-Video LLMs Inference via Adaptive-Focusing and
 * Cross-Calibration KV Cache Optimization — arXiv 2511.11106 (AAAI 2026).
 * Once after prefill, per KV head: redistributed attention scores (early-token bias removed),
 * re-weighted per layer by text→modality focusing weights; keep text + top media; merge the
 * dropped media into kept slots of the same modality; evict kept low-priority media whose keys
 * do not align (cosine < τ) with the high-priority modality's kept anchors.
 * Works with any number of media spans (image, video, audio codes); text is everything else.
 *
 * Ours where the paper is silent [INF], each an option below with the notes' default: the
 * budget split (keep text, global top-k), the merge target/variant, mean vs max aggregation
 * (τ = 0.6), per-layer focusing, prefill only (decode tokens are appended uncompressed: the
 * plan is null during decode). Step 6 may leave a head below its budget (pure eviction).
 * Ablations: redistribution (off → H2O accumulated attention), focusing (off → weights 1,
 * priority video > image > audio), intraMerge and crossCalibration (both off = "w/o C-C").
 */
import { z } from 'zod';
import { ModalityCode, NUM_MODALITIES } from '../../cache/modality.js';
import { checkBudget } from '../parts/compose.js';
import { MERGE_VARIANTS } from '../parts/merge.js';
import { planFromKeep } from '../parts/plan.js';
import { accumulatedScores, slotStat } from '../parts/scores.js';
import { allSlots, maskOf } from '../parts/select.js';
import { definePolicy } from '../registry.js';
import type { MergeOp, Plan, PolicyContext, PolicyInstance } from '../../cache/policy-api.js';
import { calibrate, intraModalMerges } from './acckv-calibrate.js';
import { focusScores, focusingWeights, type Focus } from './acckv-focus.js';
import { selectWithinBudget } from './acckv-select.js';
import { flowTotals, MEDIA_CODES, slotsByModality } from './modality-groups.js';

const NAME = 'acckv';

export const accKVOptions = z.object({
  redistribution: z.boolean().default(true).describe('A-R: score slots by redistributed attention Σ α_ij(i+1)/(L−j); off = H2O accumulated attention (ablation)'),
  focusing: z.boolean().default(true).describe('A-F: re-weight media scores by per-layer text→modality weights W_m; off = weights 1, priority video > image > audio (ablation)'),
  intraMerge: z.boolean().default(true).describe('C-C step 1: merge dropped media into the most key-similar kept slot of the same modality (ablation switch)'),
  crossCalibration: z.boolean().default(true).describe('C-C step 2: evict kept low-priority media whose key alignment with the high-priority anchors is < tau (ablation switch)'),
  tau: z.number().min(-1).max(1).default(0.6).describe('cross-calibration cosine threshold τ (paper tried 0.6 and 0.9) [INF default 0.6]'),
  aggregation: z.enum(['mean', 'max']).default('mean').describe('c_q over anchors: mean cosine (paper) or max (nearest anchor) [INF]'),
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
  const flows = o.focusing ? flowTotals(ctx.stats, heads, NAME) : new Float64Array(NUM_MODALITIES * NUM_MODALITIES);
  return focusingWeights(flows, counts, o.focusing);
}

/** What AccKV decided for one layer (step 6 may leave heads below budget: `evicted` says by how much). */
export interface AccKVLayerReport {
  /** Focusing weight per modality code (of KV head 0 when focusingScope is 'head'). */
  weights: number[];
  /** High-priority modality code (-1 without media). */
  priority: number;
  /** Per KV head: kept low-priority slots evicted by cross-calibration. */
  evicted: number[];
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
    Object.assign(report, { weights: Array.from(f.weights), priority: f.priority, evicted: [] });
  }
  const keep: Int32Array[] = [];
  const merges: MergeOp[][] = [];
  for (let h = 0; h < view.kvHeads; h++) {
    const len = lengths[h]!;
    if (len <= budget) {
      keep.push(allSlots(len));
      merges.push([]);
      report?.evicted.push(0);
      continue;
    }
    const head = planHead(ctx, o, h, len, budget, layerFocus ?? accKVFocus(ctx, o, h));
    keep.push(head.keep);
    merges.push(head.merges);
    report?.evicted.push(head.evicted);
  }
  return planFromKeep(keep, { merges });
}

function planHead(ctx: PolicyContext, o: AccKVOptions, h: number, len: number, budget: number, focus: Focus): { keep: Int32Array; merges: MergeOp[]; evicted: number } {
  const { view } = ctx;
  const meta = view.meta(h);
  const modality = meta.modality.subarray(0, len);
  const keys = view.keys(h);
  const scores = o.redistribution ? slotStat(ctx, 'redistributed', h, NAME) : accumulatedScores(ctx, h, NAME);
  const groups = slotsByModality(meta, len);
  const focused = focusScores(scores, modality, focus.weights);
  const selected = selectWithinBudget(focused, modality, groups, focus.weights, budget, o.split, o.keepText);
  const isKept = maskOf(len, selected);
  const kept = groups.map((g) => g.filter((j) => isKept[j] === 1));
  const dropped = groups.map((g) => g.filter((j) => isKept[j] === 0));
  for (const g of [kept, dropped]) g[ModalityCode.text] = new Int32Array(0); // text never merges here
  let merges = o.intraMerge ? intraModalMerges(keys, view.headDim, kept, dropped, o.mergeVariant, meta.weight) : [];
  if (!o.crossCalibration || focus.priority < 0) return { keep: selected, merges, evicted: 0 };
  const anchors = kept[focus.priority]!;
  const evicted = new Uint8Array(len);
  for (const m of MEDIA_CODES) {
    if (m === focus.priority || kept[m]!.length === 0) continue;
    const pass = maskOf(len, calibrate(keys, view.headDim, kept[m]!, anchors, o.tau, o.aggregation));
    for (const q of kept[m]!) if (!pass[q]) evicted[q] = 1;
  }
  merges = merges.filter((op) => !evicted[op.into]);
  const keep = selected.filter((j) => !evicted[j]);
  return { keep, merges, evicted: selected.length - keep.length };
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
      needs: { redistributed: options.redistribution, cumulative: !options.redistribution, flows: options.focusing },
      plan: (ctx) => {
        const report: AccKVLayerReport = { weights: [], priority: -1, evicted: [] };
        const plan = planAccKV(ctx, options, report);
        if (plan) reports[ctx.layer] = report;
        return plan;
      },
      reports: () => reports.slice(),
    };
  },
});
