/**
 * Policy options that depend on the model (FastV's layer against the model's depth, a
 * per-layer list against its layer count) are checked once the model's config is known and
 * before any trial runs, so a run never records a row whose label says what did not happen.
 */
import { parsePolicyOptions, type ModelShape, type PolicyRegistry } from '../policies/registry.js';
import { ConfigError } from '../util/config-error.js';
import { keyPath } from './config-errors.js';
import { FULL_CACHE, type ExperimentConfig } from './config-schema.js';
import { expandOptions } from './sweep.js';

/** Throws a ConfigError naming every policy option this model cannot honour (config already expanded once, so options parse). */
export function checkOptionsForModel(config: ExperimentConfig, registry: PolicyRegistry, model: ModelShape, file: string, modelName = config.model): void {
  const issues = new Set<string>();
  config.policies.forEach((raw, pi) => {
    const entry = typeof raw === 'string' ? { name: raw, options: {} } : raw;
    if (entry.name === FULL_CACHE || !registry.has(entry.name)) return;
    const def = registry.get(entry.name);
    if (!def.checkForModel) return;
    for (const { options } of expandOptions(entry.options)) {
      for (const problem of def.checkForModel(parsePolicyOptions(def, options), model)) {
        issues.add(`${keyPath(['policies', pi])}.options.${problem} (model ${modelName})`);
      }
    }
  });
  if (issues.size > 0) throw new ConfigError(file, [...issues]);
}
