/**
 * experiments/<name>/experiment.yaml: what `npm run reproduce -- <name>` runs and checks —
 * the paper, the runner configs to run (each into results/<run>/), the tables of the summary
 * and the paper's claims with the check that decides each one on our measurements.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { REPORT_METRICS } from '../../src/runner/report/tables.js';

const metricKey = z
  .string()
  .refine((k) => REPORT_METRICS.some((m) => m.key === k), { message: `expected a report metric: ${REPORT_METRICS.map((m) => m.key).join(', ')}` });

const run = z.strictObject({
  name: z.string().regex(/^[a-z0-9-]+$/, 'lower-case letters, digits and dashes (it names results/<run>/)'),
  config: z.string().describe('runner config file, relative to experiment.yaml'),
  about: z.string().describe('one line: what this run mirrors in the paper'),
  maxSamples: z.number().int().min(1).optional().describe('cap applied to --samples (slow runs, e.g. long clips for timing)'),
  tables: z.array(metricKey).default(['accuracy', 'kl', 'top1_agreement']).describe('metric tables of this run in the summary'),
});

const setting = z.strictObject({
  name: z.string().regex(/^[a-z0-9-]+$/, 'lower-case letters, digits and dashes (it names results/<setting>/)'),
  about: z.string().describe('one line: the model, preset and protocol of this setting'),
  set: z.array(z.string()).default([]).describe('config overrides (key=value, as --set) applied to every run of this setting'),
  runs: z.array(z.string()).min(1).optional().describe('the runs done in this setting (default all)'),
  samples: z.number().int().min(1).optional().describe("samples per trial in this setting (default each config's own; --samples wins; a run's maxSamples caps it)"),
});

const cell = { run: z.string(), metric: metricKey };

const check = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('beats'), ...cell, policy: z.string(), over: z.array(z.string()).min(1), budgets: z.array(z.string()).min(1) }),
  z.strictObject({ kind: z.literal('ablation'), ...cell, full: z.string(), ablated: z.string(), budgets: z.array(z.string()).min(1) }),
  z.strictObject({ kind: z.literal('near-full'), ...cell, policy: z.string(), budget: z.string(), within: z.number().min(0) }),
  z.strictObject({ kind: z.literal('graceful'), ...cell, policy: z.string(), over: z.array(z.string()).min(1), high: z.string(), low: z.string() }),
  z.strictObject({ kind: z.literal('speedup'), run: z.string(), policy: z.string(), budgets: z.array(z.string()).min(1), atLeast: z.number().gt(0) }),
  z.strictObject({ kind: z.literal('memory'), run: z.string(), policy: z.string(), budgets: z.array(z.string()).min(1), reductionAtLeast: z.number().min(0).max(1) }),
  z.strictObject({ kind: z.literal('layer-shift'), run: z.string(), modality: z.enum(['video', 'audio', 'image']), versus: z.enum(['video', 'audio', 'image']) }),
  z.strictObject({ kind: z.literal('rho-depth'), analysis: z.string() }),
  z.strictObject({ kind: z.literal('untestable'), reason: z.string() }),
]);

const claim = z.strictObject({
  id: z.string(),
  claim: z.string().describe("the paper's claim in its direction, as we test it"),
  paper: z.string().describe("the paper's own numbers (from /work/shared/methods)"),
  check,
});

export const manifestSchema = z.strictObject({
  title: z.string(),
  paper: z.strictObject({ title: z.string(), arxiv: z.string(), venue: z.string().optional() }),
  runs: z.array(run).min(1),
  ablations: z
    .strictObject({ run: z.string(), reference: z.string().describe('label of the complete method'), metrics: z.array(metricKey).min(1) })
    .optional(),
  flowAnalysis: z
    .strictObject({
      name: z.string(),
      config: z.string().describe('a runner config whose model and dataset the analysis uses'),
      samples: z.number().int().min(1),
      theta: z.number().min(0).max(1),
    })
    .optional()
    .describe("FlowMM's per-layer cross-modal interaction ratio ρ on full-cache prefills"),
  settings: z
    .array(setting)
    .min(1)
    .optional()
    .describe('the conditions every claim is decided under (models, presets, protocols), each into results/<setting>/; default one setting, results/<run>/'),
  claims: z.array(claim).min(1),
});

export type Manifest = z.output<typeof manifestSchema>;
export type RunSpec = Manifest['runs'][number];
export type Claim = Manifest['claims'][number];
export type ClaimCheck = Claim['check'];
export type SettingSpec = NonNullable<Manifest['settings']>[number];

/** The manifest's settings; one unnamed setting (results/<run>/, no overrides) when it declares none. */
export function settingsOf(m: Manifest): SettingSpec[] {
  return m.settings ?? [{ name: '', about: '', set: [] }];
}

export interface LoadedManifest {
  manifest: Manifest;
  file: string;
  dir: string;
}

/** Reads and validates experiments/<name>/experiment.yaml; errors name the file and the field. */
export function loadManifest(experimentsDir: string, name: string): LoadedManifest {
  const dir = join(experimentsDir, name);
  const file = join(dir, 'experiment.yaml');
  if (!existsSync(file)) throw new Error(`reproduce: no experiment "${name}" (expected ${file}); known: ${listExperiments(experimentsDir).join(', ')}`);
  let raw: unknown;
  try {
    raw = YAML.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not valid YAML (${(e as Error).message})`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(top level)'}: ${i.message}`);
    throw new Error(`${file}:\n${issues.join('\n')}`);
  }
  const manifest = parsed.data;
  const runNames = new Set(manifest.runs.map((r) => r.name));
  const problems: string[] = [];
  for (const r of manifest.runs) if (!existsSync(join(dir, r.config))) problems.push(`runs.${r.name}.config: no file ${join(dir, r.config)}`);
  const settingNames = new Set<string>();
  (manifest.settings ?? []).forEach((st, i) => {
    if (settingNames.has(st.name)) problems.push(`settings.${i}.name: "${st.name}" is used twice`);
    settingNames.add(st.name);
    for (const r of st.runs ?? []) if (!runNames.has(r)) problems.push(`settings.${i}.runs: "${r}" is not one of the runs (${[...runNames].join(', ')})`);
  });
  if (manifest.ablations && !runNames.has(manifest.ablations.run)) problems.push(`ablations.run: "${manifest.ablations.run}" is not a run`);
  manifest.claims.forEach((c, i) => {
    const ref = 'run' in c.check ? c.check.run : null;
    if (ref !== null && !runNames.has(ref)) problems.push(`claims.${i}.check.run: "${ref}" is not one of the runs (${[...runNames].join(', ')})`);
    if (c.check.kind === 'rho-depth' && manifest.flowAnalysis?.name !== c.check.analysis) problems.push(`claims.${i}.check.analysis: no flowAnalysis named "${c.check.analysis}"`);
  });
  if (problems.length > 0) throw new Error(`${file}:\n  ${problems.join('\n  ')}`);
  return { manifest, file, dir: dirname(file) };
}

/** Folders of experimentsDir that hold an experiment.yaml. */
export function listExperiments(experimentsDir: string): string[] {
  return readdirSync(experimentsDir).filter((n) => existsSync(join(experimentsDir, n, 'experiment.yaml'))).sort();
}
