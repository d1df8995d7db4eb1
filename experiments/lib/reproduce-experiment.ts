/**
 * One paper's reproduction: every run of experiments/<name>/experiment.yaml through the
 * runner (`runExperiment`, exactly what `kvprism run` does) into results/<run>/, the
 * report module's tables and plots per run, the flow analysis when declared, the claims
 * decided on the rows and their per-sample predictions (paired bootstrap intervals), and the
 * summary written to results/summary.md (+ summary.json) and, for a full default-location
 * run, into the README's RESULTS block. A manifest with `settings` (models, presets,
 * protocols) does all that once per setting into results/<setting>/, and its README block is
 * the claim × setting verdict matrix with a link to each setting's summary.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { resolveModelDir, runExperiment } from '../../src/runner/run-experiment.js';
import { BUNDLED_MODELS, isBundledModel } from '../../src/runner/bundled-models.js';
import { writeReport } from '../../src/runner/report/report.js';
import type { ResultRow } from '../../src/runner/result-row.js';
import { readPredictions } from '../../src/runner/predictions-store.js';
import { evaluateClaims, type ClaimResult, type FlowAnalyses, type RunMeasurements } from './claims.js';
import { flowAnalysis, type FlowAnalysisResult } from './flow-analysis.js';
import { loadManifest, settingsOf, type LoadedManifest, type Manifest, type SettingSpec } from './manifest.js';
import { validateExperiment } from './validate.js';
import { renderSettingsMatrix, renderSummary, spliceReadme, type RunOutcome, type SummaryInput } from './summary.js';

export interface ReproduceOptions {
  /** Experiment folder name under experimentsDir (acckv, flowmm, retentivekv). */
  name: string;
  experimentsDir: string;
  /** Samples per trial for every run (capped by a run's maxSamples); default: each setting's or config's own. */
  samples?: number;
  /** Results directory (default experiments/<name>/results); the README is updated only there. */
  out?: string;
  /** Extra `key=value` config overrides applied to every run (e.g. model=…, backend=ts), after the setting's. */
  set?: string[];
  /** Only these runs (default all). */
  runs?: string[];
  /** Only these settings (default all the manifest declares). */
  settings?: string[];
  plots?: boolean;
  /** Reuse finished trials in the results directory. */
  resume?: boolean;
  command?: string;
  log?: (line: string) => void;
}

/** One setting's runs, claim verdicts and flow analysis. */
export interface SettingOutcome {
  setting: SettingSpec;
  /** Where its runs went: results/<setting>/ (results/ for the unnamed setting). */
  dir: string;
  runs: RunOutcome[];
  claims: ClaimResult[];
  flow: FlowAnalysisResult | null;
  summaryFile: string;
}

export interface ReproduceResult {
  resultsDir: string;
  /** Every setting done, in the manifest's order. */
  settings: SettingOutcome[];
  /** The first setting's runs, claims and flow analysis (the only ones when the manifest declares no settings). */
  runs: RunOutcome[];
  claims: ClaimResult[];
  flow: FlowAnalysisResult | null;
  summaryFile: string;
  readmeUpdated: boolean;
}

export async function reproduceExperiment(o: ReproduceOptions): Promise<ReproduceResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const loaded = loadManifest(o.experimentsDir, o.name);
  const { manifest, dir } = loaded;
  validateExperiment(loaded, o.set ?? []);
  const defaultResults = join(dir, 'results');
  const resultsDir = resolve(o.out ?? defaultResults);
  const unknownRuns = (o.runs ?? []).filter((r) => !manifest.runs.some((x) => x.name === r));
  if (unknownRuns.length > 0) throw new Error(`reproduce ${o.name}: --runs ${unknownRuns.join(',')}: not a run of ${o.name} (runs: ${manifest.runs.map((r) => r.name).join(', ')})`);
  const all = settingsOf(manifest);
  const unknownSettings = (o.settings ?? []).filter((n) => !all.some((st) => st.name === n));
  if (unknownSettings.length > 0) {
    throw new Error(`reproduce ${o.name}: --settings ${unknownSettings.join(',')}: not a setting of ${o.name} (${manifest.settings ? `settings: ${all.map((st) => st.name).join(', ')}` : 'it declares none'})`);
  }
  if (o.samples !== undefined && !(Number.isInteger(o.samples) && o.samples >= 1)) throw new Error(`reproduce: --samples must be a whole number ≥ 1; got ${o.samples}`);
  const chosen = all.filter((st) => !o.settings || o.settings.includes(st.name));
  mkdirSync(resultsDir, { recursive: true });
  const command = o.command ?? `npm run reproduce -- ${o.name}`;
  const done: SettingOutcome[] = [];
  for (const setting of chosen) done.push(await reproduceSetting(o, loaded, setting, setting.name ? join(resultsDir, setting.name) : resultsDir, command, log));
  const complete = !o.runs && chosen.length === all.length && resultsDir === resolve(defaultResults);
  let summaryFile = done[0]!.summaryFile;
  let block = renderSummary(summaryInput(o.name, manifest, command, dir, done[0]!, `${relative(dir, done[0]!.dir)}/`));
  if (manifest.settings) {
    summaryFile = join(resultsDir, 'summary.md');
    const matrix = (prefix: string) => renderSettingsMatrix(manifest, done.map((d) => ({ ...d, link: `${prefix}${d.setting.name}/summary.md` })), command);
    writeFileSync(summaryFile, `# ${manifest.title}: verdicts per setting\n\n${matrix('')}`);
    writeFileSync(join(resultsDir, 'summary.json'), `${JSON.stringify({ settings: done.map((d) => ({ name: d.setting.name, about: d.setting.about, claims: d.claims.map((c) => ({ id: c.id, verdict: c.verdict })) })) }, null, 2)}\n`);
    block = matrix(`${relative(dir, resultsDir)}/`);
  }
  const readme = join(dir, 'README.md');
  let readmeUpdated = false;
  if (complete && existsSync(readme)) {
    writeFileSync(readme, spliceReadme(readFileSync(readme, 'utf8'), block, readme));
    readmeUpdated = true;
  }
  const first = done[0]!;
  return { resultsDir, settings: done, runs: first.runs, claims: first.claims, flow: first.flow, summaryFile, readmeUpdated };
}

/** One setting: its runs into `settingDir`/<run>/, the flow analysis, the verdicts and its summary.md. */
async function reproduceSetting(o: ReproduceOptions, loaded: LoadedManifest, setting: SettingSpec, settingDir: string, command: string, log: (l: string) => void): Promise<SettingOutcome> {
  const { manifest, dir } = loaded;
  const tag = setting.name ? `${o.name}/${setting.name}` : o.name;
  const selected = manifest.runs.filter((r) => (!o.runs || o.runs.includes(r.name)) && (!setting.runs || setting.runs.includes(r.name)));
  const overridesBase = [...setting.set, ...(o.set ?? [])];
  mkdirSync(settingDir, { recursive: true });
  const outcomes: RunOutcome[] = [];
  for (const run of selected) {
    const samples = o.samples ?? setting.samples;
    const overrides = [...(samples !== undefined ? [`samples=${Math.min(samples, run.maxSamples ?? Infinity)}`] : []), ...overridesBase];
    const runDir = join(settingDir, run.name);
    if (!o.resume) clearRunDir(runDir);
    log(`[${tag}] run ${run.name}: ${run.about}`);
    const t0 = performance.now();
    const summary = await runExperiment({ configFile: join(dir, run.config), overrides, out: runDir, resume: o.resume, live: false, log });
    const seconds = (performance.now() - t0) / 1000;
    const report = summary.rows.length > 0 ? await writeReport([runDir], { plots: o.plots !== false }) : null;
    outcomes.push({ name: run.name, about: run.about, rows: summary.rows, seconds, failed: summary.failed, charts: report?.charts.map((c) => c.name) ?? [] });
    log(`[${tag}] run ${run.name}: ${summary.rows.length} trials in ${seconds.toFixed(0)} s${summary.failed.length ? `, ${summary.failed.length} FAILED` : ''}`);
  }
  let flow: FlowAnalysisResult | null = null;
  const fa = manifest.flowAnalysis;
  if (fa && !o.runs) {
    log(`[${tag}] flow analysis: ρ per layer`);
    flow = await flowAnalysis(join(dir, fa.config), Math.min(fa.samples, o.samples ?? setting.samples ?? Infinity), fa.theta, overridesBase);
  }
  const flows: FlowAnalyses = new Map(flow && fa ? [[fa.name, flow]] : []);
  // Verdicts rest on per-sample predictions, read back from each run directory (the recorded trials' lines).
  const measured = new Map<string, RunMeasurements>(
    outcomes.map((r) => [r.name, { rows: r.rows, predictions: readPredictions(join(settingDir, r.name), new Set(r.rows.map((x) => x.trial_id))) }]),
  );
  const claims = evaluateClaims(manifest.claims, measured, flows);
  const outcome: SettingOutcome = { setting, dir: settingDir, runs: outcomes, claims, flow, summaryFile: join(settingDir, 'summary.md') };
  const title = setting.name ? `${manifest.title}, setting \`${setting.name}\` (${setting.about})` : manifest.title;
  writeFileSync(outcome.summaryFile, `# ${title}: measured results\n\n${renderSummary(summaryInput(o.name, manifest, command, dir, outcome, ''))}`);
  if (setting.name || !manifest.settings) {
    writeFileSync(join(settingDir, 'summary.json'), `${JSON.stringify({ setting: setting.name || undefined, claims, flow, runs: outcomes.map((r) => ({ name: r.name, seconds: r.seconds, trials: r.rows.length, failed: r.failed })) }, null, 2)}\n`);
  }
  return outcome;
}

function summaryInput(name: string, manifest: Manifest, command: string, experimentDir: string, s: SettingOutcome, linkPrefix: string): SummaryInput {
  return { name, manifest, command, modelNote: modelNote(s.runs, experimentDir), runs: s.runs, claims: s.claims, flow: s.flow, linkPrefix, setting: s.setting.name ? s.setting : undefined };
}

/** A reproduction regenerates its runs: the previous run's folder goes (only if it is one). */
function clearRunDir(runDir: string): void {
  if (!existsSync(runDir)) return;
  const entries = readdirSync(runDir);
  if (entries.length > 0 && !entries.includes('results.jsonl') && !entries.includes('config.resolved.yaml')) {
    throw new Error(`reproduce: ${runDir} exists and is not a run directory (no results.jsonl); move it or choose another --out`);
  }
  rmSync(runDir, { recursive: true, force: true });
}

/** What model the rows came from, said plainly (the organism, or a labelled stand-in). */
function modelNote(runs: RunOutcome[], experimentDir: string): string {
  const models = [...new Set(runs.flatMap((r) => r.rows.map((x: ResultRow) => x.model)))];
  if (models.length === 0) return 'no trial finished';
  return models.map((m) => (isBundledModel(m) ? `the AV organism \`${m}\` (\`models/${BUNDLED_MODELS[m]}\`: ${shape(resolveModelDir(m, experimentDir))} trained here on av-world — **not** the papers' 7B models)` : `\`${m}\` (${shape(resolveModelDir(m, experimentDir))}) — **not the AV organism**: a development stand-in; these numbers say nothing about the papers' claims`)).join('; ');
}

function shape(modelDir: string): string {
  try {
    const c = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8')) as Record<string, number>;
    return `a ${c.num_hidden_layers}-layer, ${c.hidden_size}-wide decoder with ${c.num_key_value_heads} KV heads`;
  } catch {
    return 'shape unknown';
  }
}
