/**
 * Validation and defaults of CacheSessionOptions, so the session itself reads as its verbs.
 */
import { validateBudget, type BudgetSpec } from './budget.js';
import { DEFAULT_SCHEDULE, type Schedule } from './schedule.js';
import type { CacheSessionOptions } from './session-types.js';
import { storageSpec, type StorageSpec } from './storage-spec.js';
import { tierSpec, type TierSpec } from './tier-spec.js';

export interface ResolvedSessionOptions {
  storage: StorageSpec;
  initialCapacity: number;
  schedule: Schedule;
  queryAware: boolean;
  seed: number;
  scale: number;
  budget: BudgetSpec | undefined;
  tier: TierSpec | undefined;
}

const WHERE = 'CacheSession options';

function int(name: string, x: unknown, min: number): void {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < min) throw new RangeError(`${WHERE}.${name} must be an integer ≥ ${min}; got ${String(x)}`);
}

export function validateSchedule(s: Schedule, where = `${WHERE}.schedule`): Schedule {
  if (!s || typeof s !== 'object') throw new TypeError(`${where} must be { kind: 'after-prefill' | 'every' | 'over-budget' }`);
  switch (s.kind) {
    case 'after-prefill':
    case 'over-budget':
      return s;
    case 'every':
      if (!Number.isInteger(s.steps) || s.steps < 1) throw new RangeError(`${where}.steps must be an integer ≥ 1; got ${s.steps}`);
      return s;
    default:
      throw new RangeError(`${where}.kind must be 'after-prefill', 'every' or 'over-budget'; got ${String((s as { kind?: unknown }).kind)}`);
  }
}

export function resolveSessionOptions(o: CacheSessionOptions): ResolvedSessionOptions {
  if (!o || typeof o !== 'object') throw new TypeError(`${WHERE} must be an object`);
  int('numLayers', o.numLayers, 1);
  int('qHeads', o.qHeads, 1);
  int('kvHeads', o.kvHeads, 1);
  int('headDim', o.headDim, 1);
  if (o.qHeads % o.kvHeads !== 0) throw new RangeError(`${WHERE}.qHeads = ${o.qHeads} must be a multiple of kvHeads = ${o.kvHeads} (GQA)`);
  const dtype = o.dtype ?? 'f32';
  if (dtype !== 'f32' && dtype !== 'f16' && dtype !== 'bf16') throw new RangeError(`${WHERE}.dtype must be 'f32', 'f16' or 'bf16'; got ${String(dtype)}`);
  if (o.dtype !== undefined && o.storage !== undefined) throw new RangeError(`${WHERE}: give dtype or storage, not both (storage: '${o.dtype}' is the same as dtype: '${o.dtype}')`);
  const storage = storageSpec(o.storage ?? dtype, o.headDim, `${WHERE}.storage`);
  const tier = o.tier === undefined ? undefined : tierSpec(o.tier, `${WHERE}.tier`);
  if (tier && storage.quantized) throw new RangeError(`${WHERE}.tier: the DRAM–flash tier holds dense K/V (f32, f16 or bf16); storage "${storage.kind}" is quantized`);
  const initialCapacity = o.initialCapacity ?? 256;
  int('initialCapacity', initialCapacity, 0);
  if (!o.backend || typeof o.backend.attend !== 'function') throw new TypeError(`${WHERE}.backend must be a ComputeBackend (e.g. tsBackend)`);
  const schedule = validateSchedule(o.schedule ?? DEFAULT_SCHEDULE);
  if (o.budget !== undefined) validateBudget(o.budget, `${WHERE}.budget`);
  if (o.policy) {
    if (typeof o.policy.plan !== 'function') throw new TypeError(`${WHERE}.policy must be a PolicyInstance with a plan(ctx) method`);
    if (o.budget === undefined) throw new RangeError(`${WHERE}.budget is required with policy "${o.policy.name}": { ratio: 0..1 } or { tokens: integer ≥ 0 }`);
  }
  const seed = o.seed ?? 0;
  if (!Number.isInteger(seed)) throw new RangeError(`${WHERE}.seed must be an integer; got ${seed}`);
  const scale = o.scale ?? 1 / Math.sqrt(o.headDim);
  if (!Number.isFinite(scale) || scale <= 0) throw new RangeError(`${WHERE}.scale must be a finite number > 0; got ${scale}`);
  return { storage, initialCapacity, schedule, queryAware: o.queryAware ?? true, seed, scale, budget: o.budget, tier };
}

/** Checks a layer allocator's answer: numLayers integers ≥ 0. */
export function validateLayerBudgets(b: unknown, numLayers: number, policy: string): number[] {
  const where = `policy "${policy}" allocateLayers()`;
  if (!Array.isArray(b) || b.length !== numLayers) {
    throw new RangeError(`${where} returned ${Array.isArray(b) ? `${b.length} budgets` : typeof b}; expected an array of numLayers = ${numLayers} integers ≥ 0`);
  }
  b.forEach((x, l) => {
    if (!Number.isInteger(x) || x < 0) throw new RangeError(`${where}: budget of layer ${l} is ${x}; expected an integer ≥ 0`);
  });
  return b.slice();
}
