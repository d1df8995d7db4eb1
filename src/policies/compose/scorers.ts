/**
 * The scorers a composed policy (and ChunkKV) can use: each gives every slot of a KV head a
 * score (higher = keep; +Infinity = protected, e.g. an observation window), from attention
 * statistics or from the keys and values alone. A scorer is data (zod options) plus `bind`,
 * which ties validated options to a session's model shape.
 */
import { z } from 'zod';
import type { StatNeeds } from '../../attention/stats.js';
import type { PolicyContext } from '../../cache/policy-api.js';
import type { PolicyEnv } from '../registry.js';
import { kernelOption, poolingOption, windowOption } from '../parts/options.js';
import { accumulatedScores, slotStat } from '../parts/scores.js';
import { rowNorms } from '../parts/similarity.js';
import { bindCriticalScorer, criticalKVOptions } from '../eviction/criticalkv.js';
import { expectedAttentionOptions, expectedAttentionScores } from '../eviction/expected-attention.js';
import { keyDiffScores } from '../eviction/keydiff.js';
import { lagKVOptions, lagKVScores } from '../eviction/lagkv.js';
import { observationScores } from '../eviction/snapkv.js';

/** A scorer bound to one session. */
export interface BoundScorer {
  needs: StatNeeds;
  /** [len] f32 scores of KV head h (higher = keep). */
  score(ctx: PolicyContext, h: number): Float32Array;
}

export interface ScorerDefinition<S extends z.ZodObject = z.ZodObject> {
  summary: string;
  options: S;
  bind(options: z.output<S>, env: PolicyEnv): BoundScorer;
}

const scorer = <S extends z.ZodObject>(def: ScorerDefinition<S>): ScorerDefinition => def as unknown as ScorerDefinition;

export const SCORERS = {
  snapkv: scorer({
    summary: 'window attention of the last w queries, pooled; the window is protected',
    options: z.object({ window: windowOption(32), kernel: kernelOption(5), pooling: poolingOption('avg') }),
    bind: (o) => ({ needs: { window: o.window }, score: (ctx, h) => observationScores(ctx, h, o, 'compose:snapkv') }),
  }),
  h2o: scorer({
    summary: 'accumulated attention (all queries so far)',
    options: z.object({}),
    bind: () => ({ needs: { cumulative: true }, score: (ctx, h) => accumulatedScores(ctx, h, 'compose:h2o') }),
  }),
  tova: scorer({
    summary: 'attention of the last query',
    options: z.object({}),
    bind: () => ({ needs: { lastQuery: true }, score: (ctx, h) => slotStat(ctx, 'lastQuery', h, 'compose:tova') }),
  }),
  knorm: scorer({
    summary: 'negative key L2 norm (attention-free)',
    options: z.object({}),
    bind: () => ({
      needs: {},
      score: (ctx, h) => rowNorms(ctx.view.keys(h).subarray(0, ctx.view.length(h) * ctx.view.headDim), ctx.view.headDim).map((n) => -n),
    }),
  }),
  keydiff: scorer({
    summary: 'negative cosine to the mean key direction (attention-free)',
    options: z.object({}),
    bind: () => ({ needs: {}, score: (ctx, h) => keyDiffScores(ctx.view, h) }),
  }),
  lagkv: scorer({
    summary: 'lag-relative key/value spread (attention-free)',
    options: lagKVOptions,
    bind: (o) => ({ needs: {}, score: (ctx, h) => lagKVScores(ctx.view, h, o) }),
  }),
  criticalkv: scorer({
    summary: 'CriticalKV’s two stages at the head’s budget: top r·B by window attention protected, the rest by attention × ‖W_o v‖₁',
    options: criticalKVOptions.omit({ heads: true, floorRatio: true }),
    bind: (o, env) => {
      const critical = bindCriticalScorer(o, env);
      return { needs: critical.needs, score: (ctx, h) => critical.score(ctx, h, ctx.budget) };
    },
  }),
  'expected-attention': scorer({
    summary: 'attention expected from future queries (Gaussian of recent queries, RoPE-rotated ahead) × ‖v‖; sinks protected',
    options: expectedAttentionOptions,
    bind: (o, env) => ({ needs: { recentQueries: o.window }, score: (ctx, h) => expectedAttentionScores(ctx, h, env, o) }),
  }),
} satisfies Record<string, ScorerDefinition>;

export type ScorerName = keyof typeof SCORERS;
export const SCORER_NAMES = Object.keys(SCORERS) as [ScorerName, ...ScorerName[]];

/** Validates scorer options (unknown keys are errors); throws naming `where`. */
export function parseScorerOptions(name: ScorerName, raw: unknown, where: string): Record<string, unknown> {
  const parsed = SCORERS[name].options.strict().safeParse(raw ?? {});
  if (!parsed.success) {
    throw new Error(`${where}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ')}`);
  }
  return parsed.data as Record<string, unknown>;
}

/** zod option fragments naming a scorer and its options (validated together by checkScorerOptions). */
export const scorerOption = (def: ScorerName) =>
  z.enum(SCORER_NAMES).default(def).describe('slot scorer (docs/new-policy.md lists what each computes)');
export const scorerOptionsOption = () =>
  z.record(z.string(), z.unknown()).default({}).describe('options of the chosen scorer (its own names and defaults; unknown keys are errors)');

/** superRefine check: scorerOptions must satisfy the chosen scorer's schema (issues under scorerOptions.*). */
export function checkScorerOptions(o: { scorer: ScorerName; scorerOptions: Record<string, unknown> }, ctx: z.RefinementCtx): void {
  const parsed = SCORERS[o.scorer].options.strict().safeParse(o.scorerOptions);
  if (parsed.success) return;
  for (const i of parsed.error.issues) ctx.addIssue({ code: 'custom', path: ['scorerOptions', ...i.path.map(String)], message: `${i.message} (scorer "${o.scorer}")` });
}

/** Binds a validated scorer choice to a session. */
export function bindScorer(name: ScorerName, options: Record<string, unknown>, env: PolicyEnv): BoundScorer {
  return SCORERS[name].bind(parseScorerOptions(name, options, `scorer "${name}" options`), env);
}
