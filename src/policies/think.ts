/**
 * ThinK — "ThinK: Thinner Key Cache by Query-Driven Pruning" (Xu et al., arXiv 2407.21018;
 * ICLR 2025). Compresses along head_dim: at the prefill's compression each KV head keeps only
 * the key channels with the largest query-weighted magnitude ‖Q_win[:, c]‖·‖K[:, c]‖
 * (think-channels.ts), d' = d − ⌊λ·d⌋ of d; scores of those slots become q_S·k_S over the kept
 * channels S (values keep all d channels; the softmax scale stays 1/√d). It composes with token
 * eviction, as the paper runs it on top of SnapKV / H2O: a wrapper over any catalogue policy
 * whose plan it extends with a KeyChannelPlan.
 *   policy: { name: think, options: { policy: snapkv, options: { window: 16 }, ratio: 0.5 } }
 * Decode-time keys: the reference (ThinK_flash, key_pruner_query_driven + update_think) prunes
 * the prefill cache except its `recent_size` newest keys (32) and appends every decoded key
 * whole; we do the same (`recent`, default 32): the last `recent` slots of each head after the
 * eviction and every later key stay d wide, so decode reads pruned and whole rows.
 * Ours: channels are chosen per KV head over the queries of its whole GQA group (the reference
 * prunes per query head over repeated keys, which stores a group's keys once per query head);
 * key norms run over the slots the wrapped policy keeps (the reference scores the SnapKV-
 * selected keys too). Pruning happens once per layer: later compressions only evict. Dense
 * storage only (f32 / f16 / bf16). Bytes: every pruned key slot saves (d − d')·bytesPerElement.
 * Why a wrapper (like key-rerotation) and not a compose reducer: channel pruning is orthogonal
 * to the slot plan of any policy (scorer × allocator × reducer or a named method), so wrapping
 * the finished policy composes with all of them without widening the compose schema.
 */
import { z } from 'zod';
import type { HeadPlan, Plan, PolicyContext, PolicyInstance } from '../cache/policy-api.js';
import { mergeNeeds } from '../attention/stats.js';
import { definePolicy, parsePolicyOptions, type PolicyDefinition, type PolicyEnv, type PolicyRegistry } from './registry.js';
import { KEY_REROTATION } from './compose/key-rerotation.js';
import { refineWrapped, wrapInstance } from './compose/wrapper.js';
import { allSlots } from './parts/select.js';
import { channelScores, keptChannelCount, topChannels } from './think-channels.js';

export const THINK = 'think';

export const thinkOptions = z.object({
  policy: z.string().default('snapkv').describe('the token-eviction policy ThinK runs on top of (any registered policy but think and key-rerotation)'),
  options: z.record(z.string(), z.unknown()).default({}).describe('options of that policy (its own names and defaults; unknown keys are errors)'),
  ratio: z
    .number({ message: 'λ must be a number in [0, 1): the fraction of key channels pruned' })
    .min(0, { message: 'λ must be in [0, 1): the fraction of key channels pruned' })
    .lt(1, { message: 'λ must be in [0, 1): the fraction of key channels pruned (1 would keep none)' })
    .default(0.4).describe('λ: fraction of key channels pruned, in [0, 1); d − ⌊λ·d⌋ channels are kept (0 = no pruning)'),
  window: z.number().int().min(1).default(32).describe('observation window: the last queries of the prefill whose channel magnitudes weigh the keys (reference: 32)'),
  recent: z.number().int().min(0).default(32).describe('newest slots per head whose keys stay whole (reference recent_size: 32)'),
});
type ThinkOptions = z.output<typeof thinkOptions>;

function innerDefinition(registry: PolicyRegistry, name: string): PolicyDefinition {
  if (name === THINK) throw new Error(`policy: ${THINK} cannot wrap itself (ThinK prunes once)`);
  if (name === KEY_REROTATION) throw new Error(`policy: ${THINK} cannot wrap ${KEY_REROTATION}: rerotation turns channel pairs (c, c + rotaryDim/2) that pruning removes`);
  return registry.get(name);
}

/** The wrapped plan with ThinK's channel pruning added (prefill, once per layer). */
export function thinkPlan(ctx: PolicyContext, inner: Plan, o: Pick<ThinkOptions, 'ratio' | 'recent'>, qHeads: number): Plan {
  const { view } = ctx;
  const d = view.headDim;
  const keep = keptChannelCount(d, o.ratio);
  if (ctx.phase !== 'prefill' || keep === d || view.keyChannels?.(0) !== undefined) return inner;
  const queries = ctx.stats.recentQueries;
  if (!queries || queries.positions.length === 0) {
    throw new Error(`${THINK}: layer ${ctx.layer} has no recent queries to weigh key channels by (the session copies them when needs.recentQueries is set)`);
  }
  const heads: HeadPlan[] = inner?.heads ?? Array.from({ length: view.kvHeads }, (_, h) => ({ keep: allSlots(view.length(h)) }));
  const channels = heads.map((hp, h) => topChannels(channelScores(queries, qHeads, view.groupSize, h, view.keys(h), hp.keep, d), keep));
  return { ...inner, heads, keyChannels: { channels, recent: o.recent } };
}

/** Adds ThinK's channel pruning to a bound policy (its clone keeps it). */
export function withThink(inner: PolicyInstance, o: ThinkOptions, env: PolicyEnv): PolicyInstance {
  return wrapInstance(inner, (p) => {
    if (p.rerotateKeys) throw new Error(`${THINK}: policy "${p.name}" re-rotates keys, which pruned key channels cannot follow`);
    return { name: `think(${p.name})`, needs: mergeNeeds(p.needs, { recentQueries: o.window }), plan: (ctx) => thinkPlan(ctx, p.plan(ctx), o, env.qHeads) };
  });
}

/** The definition, over the registry it looks the wrapped policy up in (the catalogue's). */
export function thinkPolicy(registry: () => PolicyRegistry): PolicyDefinition<typeof thinkOptions> {
  const checked = thinkOptions.superRefine(refineWrapped((name) => innerDefinition(registry(), name)));
  return definePolicy({
    name: THINK,
    title: 'ThinK',
    kind: 'eviction',
    paper: { title: 'ThinK: Thinner Key Cache by Query-Driven Pruning', arxiv: '2407.21018', venue: 'ICLR 2025' },
    summary: 'Any token-eviction policy, then each KV head keeps only the key channels with the largest query-weighted magnitude (head_dim pruning).',
    options: checked,
    traits: { queryAgnostic: false },
    create(o: ThinkOptions, env) {
      const def = innerDefinition(registry(), o.policy);
      return withThink(def.create(parsePolicyOptions(def, o.options), env), o, env);
    },
  });
}
