/**
 * Checks an experiment before it runs for minutes: in every setting, every run's config loads
 * and expands through the runner (policies and options exist), and every claim names policy
 * labels and budgets that its run actually produces.
 */
import { join } from 'node:path';
import { policies } from '../../src/policies/catalog.js';
import { loadConfig } from '../../src/runner/config-load.js';
import { expandTrials, type Trial } from '../../src/runner/sweep.js';
import { settingsOf, type LoadedManifest, type SettingSpec } from './manifest.js';

/**
 * Checks every setting (its overrides before `overrides`); returns the expanded trials of every
 * run of the first setting (by run name); throws listing every problem found.
 */
export function validateExperiment(loaded: LoadedManifest, overrides: readonly string[] = []): Map<string, Trial[]> {
  const problems: string[] = [];
  const trials = settingsOf(loaded.manifest).map((st) => validateSetting(loaded, st, overrides, problems));
  if (problems.length > 0) throw new Error(`${loaded.file}:\n  ${problems.join('\n  ')}`);
  return trials[0]!;
}

function validateSetting(loaded: LoadedManifest, setting: SettingSpec, overrides: readonly string[], allProblems: string[]): Map<string, Trial[]> {
  const { manifest, dir } = loaded;
  const trials = new Map<string, Trial[]>();
  const problems: string[] = [];
  const runs = manifest.runs.filter((r) => !setting.runs || setting.runs.includes(r.name));
  for (const run of runs) {
    try {
      const cfg = loadConfig(join(dir, run.config), [...setting.set, ...overrides]);
      trials.set(run.name, expandTrials(cfg.config, policies, cfg.file));
    } catch (e) {
      problems.push(`runs.${run.name} (${run.config}): ${(e as Error).message}`);
    }
  }
  const need = (where: string, runName: string, labels: readonly string[], budgets: readonly string[]): void => {
    const ts = trials.get(runName);
    if (!ts) return;
    const haveLabels = new Set(ts.map((t) => t.label));
    const haveBudgets = new Set(ts.filter((t) => t.policy !== 'full').map((t) => t.budgetLabel));
    for (const l of labels) if (!haveLabels.has(l)) problems.push(`${where}: run "${runName}" has no policy labelled "${l}" (it has: ${[...haveLabels].join(', ')})`);
    for (const b of budgets) if (!haveBudgets.has(b)) problems.push(`${where}: run "${runName}" has no budget "${b}" (it has: ${[...haveBudgets].join(', ')})`);
  };
  manifest.claims.forEach((c, i) => {
    const k = c.check;
    const where = `claims.${i} (${c.id})`;
    switch (k.kind) {
      case 'beats':
        return need(where, k.run, [k.policy, ...k.over], k.budgets);
      case 'ablation':
        return need(where, k.run, [k.full, k.ablated], k.budgets);
      case 'near-full':
        return need(where, k.run, [k.policy, 'full cache'], [k.budget]);
      case 'graceful':
        return need(where, k.run, [k.policy, ...k.over], [k.high, k.low]);
      case 'speedup':
      case 'memory':
        return need(where, k.run, [k.policy, 'full cache'], k.budgets);
      case 'layer-shift':
        return need(where, k.run, ['full cache'], []);
      default:
        return;
    }
  });
  if (manifest.ablations) need('ablations', manifest.ablations.run, [manifest.ablations.reference], []);
  allProblems.push(...problems.map((p) => (setting.name ? `settings.${setting.name}: ${p}` : p)));
  return trials;
}
