/**
 * CriticalKV — "Identify Critical KV Cache in LLM Inference from an Output Perturbation
 * Perspective" (Feng et al., arXiv 2502.03805). The perturbation of the attention output from
 * dropping slot j is bounded by its attention times ‖W_o v_j‖, so: stage 1 keeps the top
 * r·B slots by attention; stage 2 ranks the rest by (attention + ε)·‖W_o v_j‖₁.
 * Ours, following kvpress's CriticalKVPress: the attention score is SnapKV's (pooled window
 * attention, window kept); ‖W_o v‖₁ is averaged over the query heads of the GQA group; W_o
 * comes from the model (PolicyEnv.outputProjection) — `projection: value` uses ‖v‖₁ instead,
 * for sessions without a model; `heads: adaptive` is CriticalAdaKV (AdaKV head budgets on the
 * stage-1 scores, then both stages within each head's budget). Cost: len·qHeads·hidden·headDim
 * multiply-adds per layer for the projection (W_o is decoded once per layer and kept).
 */
import { z } from 'zod';
import type { LinearWeight } from '../../attention/backend.js';
import type { StatNeeds } from '../../attention/stats.js';
import { definePolicy, type PolicyEnv } from '../registry.js';
import type { LayerView, PolicyContext } from '../../cache/policy-api.js';
import { decodeToF32 } from '../../util/half.js';
import { adaptiveHeadBudgets } from '../parts/allocators.js';
import { checkBudget, planPerHead } from '../parts/compose.js';
import { kernelOption, poolingOption, windowOption } from '../parts/options.js';
import { planFromKeep } from '../parts/plan.js';
import { allSlots, topK } from '../parts/select.js';
import { observationScores } from './snapkv.js';

export const criticalKVOptions = z.object({
  window: windowOption(32),
  kernel: kernelOption(5),
  pooling: poolingOption('avg'),
  firstStageRatio: z.number().min(0).max(1).default(0.5).describe('r: share of the budget chosen by attention alone (stage 1)'),
  epsilon: z.number().min(0).default(1e-4).describe('ε added to the attention score before weighing by the projected value norm'),
  projection: z.enum(['output', 'value']).default('output').describe('output: ‖W_o v‖₁ with the model’s o_proj (paper); value: ‖v‖₁ (no model weights needed)'),
  heads: z.enum(['uniform', 'adaptive']).default('uniform').describe('uniform (CriticalKV) or AdaKV per-head budgets (CriticalAdaKV)'),
  floorRatio: z.number().min(0).max(1).default(0.2).describe('AdaKV floor α for heads: adaptive'),
});
export type CriticalKVOptions = z.output<typeof criticalKVOptions>;

/** W_o of one layer decoded to f32 [hidden][qHeads·headDim], checked against the head shape. */
function decodedProjection(w: LinearWeight, layer: number, env: PolicyEnv): Float32Array {
  if (w.inFeatures !== env.qHeads * env.headDim) {
    throw new RangeError(`criticalkv: outputProjection(${layer}) has ${w.inFeatures} input features; expected qHeads·headDim = ${env.qHeads * env.headDim}`);
  }
  return decodeToF32(w.data, w.dtype, 0, w.outFeatures * w.inFeatures);
}

/**
 * ‖W_o v_j‖₁ per slot of KV head h, averaged over its group's query heads: [len] f32.
 * wo: [hidden][qHeads·headDim] f32 (null = ‖v_j‖₁). Query head of group member g is h·G + g.
 */
export function projectedValueNorms(view: LayerView, h: number, wo: Float32Array | null, hidden: number): Float32Array {
  const d = view.headDim;
  const len = view.length(h);
  const v = view.values(h);
  const out = new Float32Array(len);
  if (!wo) {
    for (let j = 0; j < len; j++) for (let c = 0; c < d; c++) out[j] += Math.abs(v[j * d + c]!);
    return out;
  }
  const G = view.groupSize;
  const inF = wo.length / hidden;
  const block = new Float32Array(hidden * d);
  for (let g = 0; g < G; g++) {
    const col = (h * G + g) * d;
    for (let r = 0; r < hidden; r++) block.set(wo.subarray(r * inF + col, r * inF + col + d), r * d);
    for (let j = 0; j < len; j++) {
      let l1 = 0;
      for (let r = 0; r < hidden; r++) {
        let y = 0;
        for (let c = 0; c < d; c++) y += block[r * d + c]! * v[j * d + c]!;
        l1 += Math.abs(y);
      }
      out[j] += l1 / G;
    }
  }
  return out;
}

/**
 * Two-stage ranking of one head at budget B: the top ⌊r·B⌋ by attention become +Infinity, the
 * rest score (attention + ε)·norm. scores, norms: [len]; returns [len] f32 (higher = keep).
 */
export function criticalScores(scores: Float32Array, norms: Float32Array, budget: number, o: Pick<CriticalKVOptions, 'firstStageRatio' | 'epsilon'>): Float32Array {
  const first = topK(scores, Math.floor(o.firstStageRatio * budget));
  const weighted = Float32Array.from(scores, (s, j) => (s === Infinity ? Infinity : (s + o.epsilon) * norms[j]!));
  for (const j of first) weighted[j] = Infinity;
  return weighted;
}

/**
 * CriticalKV's scorer bound to a session: attention (SnapKV window) and ‖W_o v‖₁ of KV head h
 * at the head's budget `budget` (slots). Shared with the composed policies.
 */
export function bindCriticalScorer(o: Omit<CriticalKVOptions, 'heads' | 'floorRatio'>, env: PolicyEnv) {
  const decoded = new Map<number, { wo: Float32Array; hidden: number }>();
  const projectionOf = (layer: number): { wo: Float32Array; hidden: number } | null => {
    if (o.projection === 'value') return null;
    if (!env.outputProjection) {
      throw new Error('criticalkv: projection "output" needs the model’s o_proj weights (PolicyEnv.outputProjection); bind the policy to a model or set projection: value');
    }
    if (!decoded.has(layer)) {
      const w = env.outputProjection(layer);
      decoded.set(layer, { wo: decodedProjection(w, layer, env), hidden: w.outFeatures });
    }
    return decoded.get(layer)!;
  };
  const needs: StatNeeds = { window: o.window };
  return {
    needs,
    /** Stage-1 attention scores [len] and projected value norms [len] of KV head h. */
    parts(ctx: PolicyContext, h: number) {
      const p = projectionOf(ctx.layer);
      return { scores: observationScores(ctx, h, o, 'criticalkv'), norms: projectedValueNorms(ctx.view, h, p?.wo ?? null, p?.hidden ?? 0) };
    },
    score(ctx: PolicyContext, h: number, budget: number): Float32Array {
      const p = this.parts(ctx, h);
      return criticalScores(p.scores, p.norms, budget, o);
    },
  };
}

export const criticalKV = definePolicy({
  name: 'criticalkv',
  title: 'CriticalKV',
  kind: 'eviction',
  paper: { title: 'Identify Critical KV Cache in LLM Inference from an Output Perturbation Perspective', arxiv: '2502.03805' },
  summary: 'Two stages: the top share of the budget by window attention, the rest by attention × ‖W_o v‖₁ (the slot’s bound on the output perturbation).',
  options: criticalKVOptions,
  create(o, env) {
    const scorer = bindCriticalScorer(o, env);
    return {
      name: 'criticalkv',
      needs: scorer.needs,
      plan: (ctx) => {
        if (o.heads === 'uniform') {
          return planPerHead(ctx, (h) => topK(scorer.score(ctx, h, ctx.budget), ctx.budget));
        }
        const B = checkBudget(ctx.budget, ctx.layer);
        const H = ctx.view.kvHeads;
        const lens = Array.from({ length: H }, (_, h) => ctx.view.length(h));
        if (lens.reduce((a, b) => a + b, 0) <= B * H) return null;
        const parts = lens.map((_, h) => scorer.parts(ctx, h));
        const budgets = adaptiveHeadBudgets(parts.map((p) => p.scores), B, o.floorRatio);
        return planFromKeep(parts.map((p, h) => (budgets[h]! >= lens[h]! ? allSlots(lens[h]!) : topK(criticalScores(p.scores, p.norms, budgets[h]!, o), budgets[h]!))));
      },
    };
  },
});
