/**
 * SAINT — "Similarity-Aware Token Pruning: Your VLM but Faster" (Jeddi et al., arXiv
 * 2503.11549; a RetentiveKV baseline). Token pruning by redundancy: visual tokens form a graph
 * weighted by the cosine similarity of their keys; the most redundant (largest similarity
 * degree) are dropped, round by round, and a dropped token is gone from every later layer.
 * Defined by the official code (github.com/ArmenJeddi/saint): the budgeted rule is its ViT-only
 * mode's `iterative_drop_full_graph` (run in the vision tower) — while more than the target
 * remain, degree_i = Σ_j cos(k_i, k_j) over the remaining candidates, drop the ⌊N/divisor⌋
 * largest (divisor 16). We apply it inside the language model.
 * Ours, as a KV baseline: the rounds run on each layer's keys averaged over KV heads (as the
 * code's LLM-only mode reads them) until the layer fits its budget, the same slots for every
 * head; the budget sets the rate (the LLM-only mode's threshold rule, τ = 0.83 with ≥ 5
 * similar partners, sets it from the data instead, which a budgeted comparison cannot hold
 * to); pruning starts at layer 0, since every layer must fit its budget (the LLM-only mode
 * starts at layer 7 of 32); a round drops at least one token; when the candidates run out,
 * the oldest other slots go (beyond SAINT's scope); `candidates: media` lets audio tokens join
 * the graph (SAINT is defined for images; an audio-video prompt otherwise keeps all its audio
 * ahead of any video). Drops carry to the later layers and steps.
 */
import { z } from 'zod';
import { isVisualCode, ModalityCode } from '../../cache/modality.js';
import type { LayerView, Plan, PolicyContext, PolicyInstance } from '../../cache/policy-api.js';
import { definePolicy } from '../registry.js';
import { checkBudget } from '../parts/compose.js';
import { planFromKeep } from '../parts/plan.js';

export const saintOptions = z.object({
  divisor: z.number().int().min(1).default(16).describe('each round drops ⌊N/divisor⌋ of the N remaining candidate tokens (at least one)'),
  candidates: z
    .enum(['visual', 'media'])
    .default('visual')
    .describe('tokens the rounds may drop: visual (image and video, the paper) or media (audio too, one graph: ours, for audio-video prompts)'),
});
export type SaintOptions = z.output<typeof saintOptions>;

/** Unit rows of the layer's keys averaged over KV heads: [len][headDim] (all heads hold the same slots). */
function meanUnitKeys(view: LayerView, len: number): Float32Array {
  const d = view.headDim;
  const out = new Float32Array(len * d);
  for (let h = 0; h < view.kvHeads; h++) {
    const k = view.keys(h);
    for (let i = 0; i < len * d; i++) out[i] += k[i]! / view.kvHeads;
  }
  for (let i = 0; i < len; i++) {
    const row = out.subarray(i * d, (i + 1) * d);
    const norm = Math.hypot(...row);
    if (norm > 0) for (let c = 0; c < d; c++) row[c]! /= norm;
  }
  return out;
}

/**
 * SAINT's rounds over candidate slots `cand` (ascending) of unit rows [len][d]: drops the most
 * redundant until `target` remain. Returns the dropped slots in the order they went.
 */
export function saintDropOrder(unit: Float32Array, d: number, cand: readonly number[], target: number, divisor: number): number[] {
  const left = [...cand];
  const sum = new Float64Array(d);
  for (const j of left) for (let c = 0; c < d; c++) sum[c] += unit[j * d + c]!;
  const dropped: number[] = [];
  while (left.length > Math.max(0, target)) {
    const n = left.length;
    const take = Math.min(n - Math.max(0, target), Math.max(1, Math.floor(n / divisor)));
    // degree_i = Σ_j cos(k_i, k_j) over the candidates = k̂_i · Σ_j k̂_j.
    const degree = left.map((i) => {
      let s = 0;
      for (let c = 0; c < d; c++) s += unit[i * d + c]! * sum[c]!;
      return { i, s };
    });
    degree.sort((a, b) => b.s - a.s || a.i - b.i);
    const out = new Set(degree.slice(0, take).map((x) => x.i));
    for (const i of out) for (let c = 0; c < d; c++) sum[c] -= unit[i * d + c]!;
    dropped.push(...degree.slice(0, take).map((x) => x.i));
    for (let k = left.length - 1; k >= 0; k--) if (out.has(left[k]!)) left.splice(k, 1);
  }
  return dropped;
}

/** Position → the first layer that dropped it (a token is gone from that layer and every deeper one). */
type DroppedAt = Map<number, number>;

function saintPlan(ctx: PolicyContext, o: SaintOptions, droppedAt: DroppedAt): Plan {
  const B = checkBudget(ctx.budget, ctx.layer);
  const view = ctx.view;
  const len = view.length(0);
  for (let h = 1; h < view.kvHeads; h++) {
    if (view.length(h) !== len) throw new Error(`saint: layer ${ctx.layer} heads hold different slots (${len} vs ${view.length(h)}); SAINT prunes tokens, the same for every head (use a uniform or pyramid layer allocator)`);
  }
  const meta = view.meta(0);
  const alive = Array.from({ length: len }, (_, j) => j).filter((j) => !((droppedAt.get(meta.position[j]!) ?? Infinity) < ctx.layer));
  if (alive.length === len && len <= B) return null;
  let keep = alive;
  if (keep.length > B) {
    const isCandidate = (j: number) => (o.candidates === 'media' ? meta.modality[j] !== ModalityCode.text : isVisualCode(meta.modality[j]!));
    const cand = keep.filter(isCandidate);
    const other = keep.length - cand.length;
    const drop = new Set(saintDropOrder(meanUnitKeys(view, len), view.headDim, cand, Math.max(0, B - other), o.divisor));
    keep = keep.filter((j) => !drop.has(j));
    if (keep.length > B) keep = keep.slice(keep.length - B); // media ran out: the oldest other slots go
  }
  const kept = new Set(keep);
  for (let j = 0; j < len; j++) {
    const p = meta.position[j]!;
    if (!kept.has(j)) droppedAt.set(p, Math.min(droppedAt.get(p) ?? Infinity, ctx.layer));
  }
  const k = Int32Array.from(keep);
  return planFromKeep(Array.from({ length: view.kvHeads }, () => k.slice()));
}

export const saint = definePolicy({
  name: 'saint',
  title: 'SAINT',
  kind: 'multimodal',
  paper: { title: 'Similarity-Aware Token Pruning: Your VLM but Faster', arxiv: '2503.11549' },
  summary: 'Drops the most redundant visual tokens (largest key-similarity degree in the token graph), round by round, for this and every later layer; the same tokens for every head.',
  options: saintOptions,
  create(o) {
    const make = (droppedAt: DroppedAt): PolicyInstance => ({
      name: 'saint',
      needs: {},
      plan: (ctx) => saintPlan(ctx, o, droppedAt),
      clone: () => make(new Map(droppedAt)),
    });
    return make(new Map());
  },
});
