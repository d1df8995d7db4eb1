/**
 * KVzip — "KVzip: Query-Agnostic KV Cache Compression with Context Reconstruction" (Kim et al.,
 * NeurIPS 2025, arXiv 2505.23416). A KV pair matters as much as the model uses it to rebuild
 * its context: after the prefill, a repeat prompt ("Repeat the previous context exactly."
 * followed by the context itself, teacher-forced) runs over the uncompressed cache, and each
 * context slot scores the maximum attention any repeat query of its KV head's group gives it.
 * The lowest scores are evicted, head-wise; one compressed cache then serves any question.
 * Defaults follow kvpress's KVzipPress: 4 sink slots protected (score 1), chunks of 2,048
 * context tokens (a later chunk asks to continue from the previous chunk's last 8 tokens), the
 * softmax over sinks + the chunk + the repeat so far, and budgets non-uniform across layers
 * and heads (one global ranking; `layerwise` gives every layer the same total).
 * Ours: the repeat is fed without chat-template framing (kvpress frames it as a user turn when
 * the tokenizer has a template); media context (no token ids) is repeated as the embeddings it
 * was given; scores are computed from the repeat's queries in TypeScript (no kernel statistic
 * gives a max over queries); slots added during decode are kept first (they have no score), the
 * context's lowest scores making room; KVzip+'s normalisation is left out.
 */
import { z } from 'zod';
import type { Plan, PolicyContext, RepeatObservation } from '../../cache/policy-api.js';
import { definePolicy } from '../registry.js';
import { adaptiveHeadBudgets, roundToTotal, uniformLayerBudgets } from '../parts/allocators.js';
import { checkBudget } from '../parts/compose.js';
import { planFromKeep } from '../parts/plan.js';
import { topK } from '../parts/select.js';

export const kvzipOptions = z.object({
  sinks: z.number().int().min(0).default(4).describe('first slots always kept (attention sinks; score 1)'),
  chunk: z.number().int().min(1).default(2048).describe('context tokens repeated per chunk of the second pass'),
  overlap: z.number().int().min(0).default(8).describe('tokens of the previous chunk repeated before the next one'),
  layerwise: z.boolean().default(false).describe('same budget for every layer (default: one ranking across layers and heads)'),
});
export type KVzipOptions = z.output<typeof kvzipOptions>;

export const KVZIP_INSTRUCTION = '\n\nRepeat the previous context exactly.\n';
export const KVZIP_CONTINUATION = '\n\nRepeat the part of the previous context exactly, starting with';

/**
 * KVzip's scores of context slots [start, end) of KV head h from one repeat (o: the layer after
 * the repeat): for each slot, the largest softmax probability any repeat query of the head's
 * group gives it, the softmax taken over the keys of slots [0, min(sinks, start)) ∪
 * [start, end) ∪ the repeat's slots up to the query's own (causal). Returns [end − start].
 */
export function reconstructionScores(o: RepeatObservation, h: number, sinks: number): Float32Array {
  const { view, queries, n, qHeads, contextLength: P, start, end, scale } = o;
  const d = view.headDim;
  const g = view.groupSize;
  if (view.length(h) !== P + n) throw new Error(`kvzip: layer ${o.layer} kv head ${h} holds ${view.length(h)} slots after the repeat; expected the uncompressed ${P} + ${n}`);
  const keys = view.keys(h);
  const sinkCount = Math.min(sinks, start);
  const width = end - start;
  const cols = sinkCount + width;
  // The keys the softmax covers, contiguous: [sinks | chunk | repeat] × headDim.
  const sub = new Float32Array((cols + n) * d);
  sub.set(keys.subarray(0, sinkCount * d), 0);
  sub.set(keys.subarray(start * d, end * d), sinkCount * d);
  sub.set(keys.subarray(P * d, (P + n) * d), cols * d);
  const out = new Float32Array(width);
  const logits = new Float64Array(cols + n);
  for (let i = 0; i < n; i++) {
    const m = cols + i + 1; // causal within the repeat
    for (let qh = h * g; qh < (h + 1) * g; qh++) {
      const qo = (i * qHeads + qh) * d;
      let max = -Infinity;
      for (let c = 0; c < m; c++) {
        const ko = c * d;
        let dot = 0;
        for (let k = 0; k < d; k++) dot += queries[qo + k]! * sub[ko + k]!;
        const x = dot * scale;
        logits[c] = x;
        if (x > max) max = x;
      }
      let sum = 0;
      for (let c = 0; c < m; c++) sum += logits[c] = Math.exp(logits[c]! - max);
      for (let j = 0; j < width; j++) {
        const p = logits[sinkCount + j]! / sum;
        if (p > out[j]!) out[j] = p;
      }
    }
  }
  return out;
}

/** The scores of one session: [layer][kvHead] → [contextLength] by position. */
class ReconstructionScores {
  constructor(readonly byLayer: Map<number, Float32Array[]> = new Map()) {}

  record(o: RepeatObservation, sinks: number): void {
    const heads = this.byLayer.get(o.layer) ?? Array.from({ length: o.view.kvHeads }, () => new Float32Array(o.contextLength).fill(Number.NaN));
    this.byLayer.set(o.layer, heads);
    heads.forEach((s, h) => {
      s.set(reconstructionScores(o, h, sinks), o.start);
      s.fill(1, 0, Math.min(sinks, o.contextLength));
    });
  }

  /** Scores of the slots of layer l, head h ([len]; a slot past the context is +Infinity). */
  slotScores(ctx: PolicyContext, h: number): Float32Array {
    const heads = this.byLayer.get(ctx.layer);
    if (!heads) {
      throw new Error(`kvzip: layer ${ctx.layer} has no reconstruction scores: its second pass did not run (a model runtime runs it before the prefill ends: Decoder.prefill or the runner; a streamed prefill holding its budget compresses before it)`);
    }
    const pos = ctx.view.meta(h).position;
    return Float32Array.from(pos, (p) => (p < heads[h]!.length ? heads[h]![p]! : Infinity));
  }

  clone(): ReconstructionScores {
    return new ReconstructionScores(new Map([...this.byLayer].map(([l, hs]) => [l, hs.map((s) => s.slice())])));
  }
}

/** One ranking over every (layer, head, slot): the layer budgets (slots per head) it implies for base·L·H kept slots. */
export function globalLayerBudgets(scores: readonly Float32Array[][], base: number): number[] {
  const L = scores.length;
  const H = scores[0]?.length ?? 0;
  const all: { s: number; l: number }[] = [];
  scores.forEach((heads, l) => heads.forEach((s) => s.forEach((x) => all.push({ s: x, l }))));
  all.sort((a, b) => b.s - a.s || a.l - b.l);
  const count = new Array<number>(L).fill(0);
  for (let i = 0; i < Math.min(base * L * H, all.length); i++) count[all[i]!.l]!++;
  return roundToTotal(count.map((c) => c / Math.max(1, H)), base * L);
}

function kvzipPlan(ctx: PolicyContext, scores: ReconstructionScores): Plan {
  const B = checkBudget(ctx.budget, ctx.layer);
  const H = ctx.view.kvHeads;
  const lens = Array.from({ length: H }, (_, h) => ctx.view.length(h));
  if (lens.reduce((a, b) => a + b, 0) <= B * H) return null;
  const perHead = lens.map((_, h) => scores.slotScores(ctx, h));
  const budgets = adaptiveHeadBudgets(perHead, B, 0);
  return planFromKeep(perHead.map((s, h) => topK(s, budgets[h]!)));
}

export const kvzip = definePolicy({
  name: 'kvzip',
  title: 'KVzip',
  kind: 'eviction',
  paper: { title: 'KVzip: Query-Agnostic KV Cache Compression with Context Reconstruction', arxiv: '2505.23416', venue: 'NeurIPS 2025' },
  summary: 'Scores each context slot by the most attention it receives while the model repeats its context (a second, teacher-forced pass); evicts the lowest, head-wise.',
  options: kvzipOptions,
  traits: { queryAgnostic: true, secondPass: true },
  create(o) {
    const make = (scores: ReconstructionScores) => ({
      name: 'kvzip',
      needs: {},
      secondPass: { instruction: KVZIP_INSTRUCTION, continuation: KVZIP_CONTINUATION, chunk: o.chunk, overlap: o.overlap, observe: (r: RepeatObservation) => scores.record(r, o.sinks) },
      allocateLayers: (a: { base: number; numLayers: number }) =>
        o.layerwise ? uniformLayerBudgets(a.base, a.numLayers) : globalLayerBudgets(Array.from({ length: a.numLayers }, (_, l) => scores.byLayer.get(l) ?? []), a.base),
      plan: (ctx: PolicyContext) => kvzipPlan(ctx, scores),
      clone: () => make(scores.clone()),
    });
    return make(new ReconstructionScores());
  },
});
