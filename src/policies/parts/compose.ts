/**
 * Composition helpers: a named method is an allocator × a scorer × a reducer. These bind a
 * layer allocator to any policy instance and run a per-head selector over a layer.
 */
import type { LayerAllocationArgs, LayerView, MergeOp, Plan, PolicyContext, PolicyInstance } from '../../cache/policy-api.js';
import { pyramidLayerBudgets, uniformLayerBudgets } from './allocators.js';
import { allSlots } from './select.js';
import { planFromKeep } from './plan.js';

export type LayerAllocatorName = 'uniform' | 'pyramid';

/**
 * The same policy with a different layer allocator: 'uniform' (every layer the base budget)
 * or 'pyramid' (PyramidKV's linear decrease, β default 20, `fixed` slots reserved per layer).
 */
export function withLayerAllocator(
  instance: PolicyInstance,
  allocator: LayerAllocatorName,
  opts: { beta?: number; fixed?: number } = {},
): PolicyInstance {
  if (allocator !== 'uniform' && allocator !== 'pyramid') {
    throw new RangeError(`withLayerAllocator: allocator must be "uniform" or "pyramid"; got "${String(allocator)}"`);
  }
  const allocateLayers =
    allocator === 'uniform'
      ? (a: LayerAllocationArgs) => uniformLayerBudgets(a.base, a.numLayers)
      : (a: LayerAllocationArgs) => pyramidLayerBudgets(a.base, a.numLayers, opts.beta ?? 20, opts.fixed ?? 0);
  const wrapped: PolicyInstance = {
    name: `${instance.name}+${allocator}`,
    needs: instance.needs,
    plan: (ctx) => instance.plan(ctx),
    allocateLayers,
  };
  // What the session reads beside plan and allocateLayers travels with the policy.
  if (instance.retention) wrapped.retention = instance.retention;
  if (instance.secondPass) wrapped.secondPass = instance.secondPass;
  if (instance.rerotateKeys) wrapped.rerotateKeys = instance.rerotateKeys;
  // A stateful policy's copy keeps the allocator.
  const innerClone = instance.clone;
  if (innerClone) wrapped.clone = () => withLayerAllocator(innerClone.call(instance), allocator, opts);
  return wrapped;
}

/**
 * Runs `select(h, len)` for every KV head whose length exceeds the budget; heads within budget
 * keep all their slots. Returns null when no head is over budget (nothing to do).
 */
export function planPerHead(ctx: PolicyContext, select: (h: number, len: number) => Int32Array): Plan {
  const budget = checkBudget(ctx.budget, ctx.layer);
  const keep: Int32Array[] = [];
  let any = false;
  for (let h = 0; h < ctx.view.kvHeads; h++) {
    const len = ctx.view.length(h);
    if (len <= budget) keep.push(allSlots(len));
    else {
      keep.push(select(h, len));
      any = true;
    }
  }
  return any ? planFromKeep(keep) : null;
}

/**
 * Like planPerHead, for reducers that also merge: `select(h, len)` returns the kept slots and
 * the merges of one over-budget head.
 */
export function planPerHeadWithMerges(ctx: PolicyContext, select: (h: number, len: number) => { keep: Int32Array; merges?: MergeOp[] }): Plan {
  const budget = checkBudget(ctx.budget, ctx.layer);
  const keep: Int32Array[] = [];
  const merges: MergeOp[][] = [];
  let any = false;
  for (let h = 0; h < ctx.view.kvHeads; h++) {
    const len = ctx.view.length(h);
    if (len <= budget) {
      keep.push(allSlots(len));
      merges.push([]);
    } else {
      const r = select(h, len);
      keep.push(r.keep);
      merges.push(r.merges ?? []);
      any = true;
    }
  }
  return any ? planFromKeep(keep, { merges }) : null;
}

/** Validates ctx.budget: a whole number of slots ≥ 0 (names the layer otherwise). */
export function checkBudget(budget: number, layer: number): number {
  if (!Number.isInteger(budget) || budget < 0) {
    throw new RangeError(`budget for layer ${layer} must be a whole number of slots per KV head ≥ 0; got ${budget}`);
  }
  return budget;
}

/** Whether every KV head of the view holds the same slots (same original positions, in order). */
export function headsShareSlots(view: LayerView): boolean {
  const p0 = view.meta(0).position.subarray(0, view.length(0));
  for (let h = 1; h < view.kvHeads; h++) {
    const p = view.meta(h).position.subarray(0, view.length(h));
    if (p.length !== p0.length) return false;
    for (let i = 0; i < p.length; i++) if (p[i] !== p0[i]) return false;
  }
  return true;
}
