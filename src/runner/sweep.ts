/**
 * Sweep expansion: policies (each option list crossed) × budgets × seeds × storages × protocols → trials. A trial's
 * id is a stable hash of its resolved config (policy options with their defaults filled in),
 * so a resumed or sharded run recognises finished trials whatever order the config lists them.
 */
import type { BudgetSpec } from '../cache/budget.js';
import { parseBudget } from '../cache/budget.js';
import type { Schedule } from '../cache/schedule.js';
import { parsePolicyOptions, type PolicyRegistry } from '../policies/registry.js';
import { ConfigError } from '../util/config-error.js';
import { describeAt, keyPath } from './config-errors.js';
import { FULL_CACHE, type ExperimentConfig, type PolicyEntry, type Protocol, type ScheduleSetting } from './config-schema.js';
import { stableHash } from './stable-hash.js';
import { cacheWithStorage, storagesOf, type TrialCache } from './storage-axis.js';

/** Everything that determines a trial's result (and therefore its id). */
export interface TrialSpec {
  policy: string;
  /** Policy options after validation, defaults included ({} for the full cache). */
  options: Record<string, unknown>;
  /** null for the full cache. */
  budget: BudgetSpec | null;
  /** null for the full cache. */
  schedule: Schedule | null;
  seed: number;
  model: string;
  dataset: ExperimentConfig['dataset'];
  samples: number;
  decodeTokens: number;
  backend: ExperimentConfig['backend'];
  threads: ExperimentConfig['threads'];
  /** queryAware follows the protocol; one storage of the config's list (storage-axis.ts). */
  cache: TrialCache;
  metrics: ExperimentConfig['metrics'];
  protocol: Protocol;
}

export interface Trial extends TrialSpec {
  id: string;
  /** Position in expansion order (sharding slices on it). */
  index: number;
  /** Shown in tables and plots. */
  label: string;
  /** "20%", "512t" or "full". */
  budgetLabel: string;
}

export function toSchedule(s: ScheduleSetting): Schedule {
  return typeof s === 'string' ? { kind: s } : { kind: 'every', steps: s.every };
}

export function budgetLabel(b: BudgetSpec | null): string {
  if (b === null) return FULL_CACHE;
  return 'ratio' in b ? `${Number((b.ratio * 100).toFixed(4))}%` : `${b.tokens}t`;
}

/** Cartesian product of option lists: {a: [1, 2], b: 3} → [{a: 1, b: 3}, {a: 2, b: 3}]. */
export function expandOptions(options: Record<string, unknown>): { options: Record<string, unknown>; swept: string[] }[] {
  let combos: Record<string, unknown>[] = [{}];
  const swept = Object.keys(options).filter((k) => Array.isArray(options[k]));
  for (const [k, v] of Object.entries(options)) {
    const values = Array.isArray(v) ? v : [v];
    if (values.length === 0) continue;
    combos = combos.flatMap((c) => values.map((x) => ({ ...c, [k]: x })));
  }
  return combos.map((options) => ({ options, swept }));
}

function entryOf(e: PolicyEntry): Exclude<PolicyEntry, string> {
  return typeof e === 'string' ? { name: e, options: {} } : e;
}

function labelFor(name: string, given: string | undefined, options: Record<string, unknown>, swept: string[]): string {
  const base = given ?? name;
  if (swept.length === 0) return base;
  return `${base}(${swept.map((k) => `${k}=${JSON.stringify(options[k])}`).join(',')})`;
}

/** The protocols swept (config.protocol, else the one cache.queryAware names). */
function protocolsOf(config: ExperimentConfig, issues: string[]): Protocol[] {
  if (config.protocol === undefined) return [config.cache.queryAware ? 'query-aware' : 'query-agnostic'];
  if (!config.cache.queryAware) issues.push('cache.queryAware: false cannot be combined with protocol; remove it and list "query-agnostic" under protocol');
  return [...new Set(Array.isArray(config.protocol) ? config.protocol : [config.protocol])];
}

/** Expands a validated config into trials; throws ConfigError for unknown policies or bad options/budgets. */
export function expandTrials(config: ExperimentConfig, registry: PolicyRegistry, file = 'config'): Trial[] {
  const issues: string[] = [];
  const budgets: BudgetSpec[] = [];
  config.budgets.forEach((b, i) => {
    try {
      budgets.push(parseBudget(b, `budgets[${i}]`));
    } catch (e) {
      issues.push(`${(e as Error).message} (got ${JSON.stringify(b)})`);
    }
  });
  const protocols = protocolsOf(config, issues);
  const storages = storagesOf(config.cache);
  const base = {
    model: config.model,
    dataset: config.dataset,
    samples: config.samples,
    decodeTokens: config.decodeTokens,
    backend: config.backend,
    threads: config.threads,
    metrics: config.metrics,
  };
  const trials: Trial[] = [];
  const seen = new Set<string>();
  type PolicySpec = Pick<TrialSpec, 'policy' | 'options' | 'budget' | 'schedule' | 'seed'>;
  const push = (p: PolicySpec, label: string): void => {
    for (const storage of storages) {
      for (const protocol of protocols) {
        const spec: TrialSpec = { ...base, ...p, cache: { ...cacheWithStorage(config.cache, storage), queryAware: protocol === 'query-aware' }, protocol };
        const id = stableHash(spec);
        if (seen.has(id)) continue;
        seen.add(id);
        trials.push({ ...spec, id, index: trials.length, label, budgetLabel: budgetLabel(spec.budget) });
      }
    }
  };
  config.policies.forEach((raw, pi) => {
    const entry = entryOf(raw);
    const at = keyPath(['policies', pi]);
    if (entry.name === FULL_CACHE) {
      if (Object.keys(entry.options).length > 0) issues.push(`${at}.options: the full cache takes no options`);
      for (const seed of config.seeds) push({ policy: FULL_CACHE, options: {}, budget: null, schedule: null, seed }, entry.label ?? 'full cache');
      return;
    }
    let def;
    try {
      def = registry.get(entry.name);
    } catch (e) {
      issues.push(`${at}.name: ${(e as Error).message}`);
      return;
    }
    const schedule = toSchedule(entry.schedule ?? config.schedule);
    const empty = Object.keys(entry.options).filter((k) => Array.isArray(entry.options[k]) && (entry.options[k] as unknown[]).length === 0);
    for (const k of empty) {
      const doc = describeAt(def.options, [k]);
      issues.push(`${at}.options.${k}: an empty list sweeps no value; expected one value, or a non-empty list of values to sweep (e.g. ${k}: [a, b])${doc ? ` — ${doc}` : ''}`);
    }
    if (empty.length > 0) return;
    for (const { options, swept } of expandOptions(entry.options)) {
      let resolved: Record<string, unknown>;
      try {
        resolved = parsePolicyOptions(def, options) as Record<string, unknown>;
      } catch (e) {
        issues.push(`${at}.options: ${(e as Error).message} (got ${JSON.stringify(options)})`);
        continue;
      }
      const label = labelFor(def.name, entry.label, options, swept);
      for (const budget of budgets) {
        for (const seed of config.seeds) push({ policy: def.name, options: resolved, budget, schedule, seed }, label);
      }
    }
  });
  if (issues.length > 0) throw new ConfigError(file, issues);
  return trials;
}
