/**
 * One paper's reproduction: every run of experiments/<name>/experiment.yaml through the
 * runner (`runExperiment`, exactly what `kvprism run` does) into results/<run>/, the
 * report module's tables and plots per run, the flow analysis when declared, the claims
 * decided on the rows and their per-sample predictions (paired bootstrap intervals), and the
 * summary written to results/summary.md (+ summary.json) and,
 * for a full default-location run, into the README's RESULTS block.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { resolveModelDir, runExperiment } from '../../src/runner/run-experiment.js';
import { writeReport } from '../../src/runner/report/report.js';
import type { ResultRow } from '../../src/runner/result-row.js';
import { readPredictions } from '../../src/runner/predictions-store.js';
import { evaluateClaims, type ClaimResult, type FlowAnalyses, type RunMeasurements } from './claims.js';
import { flowAnalysis, type FlowAnalysisResult } from './flow-analysis.js';
import { loadManifest } from './manifest.js';
import { validateExperiment } from './validate.js';
import { renderSummary, spliceReadme, type RunOutcome } from './summary.js';

export interface ReproduceOptions {
  /** Experiment folder name under experimentsDir (acckv, flowmm, retentivekv). */
  name: string;
  experimentsDir: string;
  /** Samples per trial for every run (capped by a run's maxSamples); default: each config's own. */
  samples?: number;
  /** Results directory (default experiments/<name>/results); the README is updated only there. */
  out?: string;
  /** Extra `key=value` config overrides applied to every run (e.g. model=…, backend=ts). */
  set?: string[];
  /** Only these runs (default all). */
  runs?: string[];
  plots?: boolean;
  /** Reuse finished trials in the results directory. */
  resume?: boolean;
  command?: string;
  log?: (line: string) => void;
}

export interface ReproduceResult {
  resultsDir: string;
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
  const known = new Set(manifest.runs.map((r) => r.name));
  const unknown = (o.runs ?? []).filter((r) => !known.has(r));
  if (unknown.length > 0) throw new Error(`reproduce ${o.name}: --runs ${unknown.join(',')}: not a run of ${o.name} (runs: ${[...known].join(', ')})`);
  if (o.samples !== undefined && !(Number.isInteger(o.samples) && o.samples >= 1)) throw new Error(`reproduce: --samples must be a whole number ≥ 1; got ${o.samples}`);
  const selected = manifest.runs.filter((r) => !o.runs || o.runs.includes(r.name));
  mkdirSync(resultsDir, { recursive: true });
  const outcomes: RunOutcome[] = [];
  for (const run of selected) {
    const overrides = [...(o.samples !== undefined ? [`samples=${Math.min(o.samples, run.maxSamples ?? Infinity)}`] : []), ...(o.set ?? [])];
    const runDir = join(resultsDir, run.name);
    if (!o.resume) clearRunDir(runDir);
    log(`[${o.name}] run ${run.name}: ${run.about}`);
    const t0 = performance.now();
    const summary = await runExperiment({
      configFile: join(dir, run.config),
      overrides,
      out: runDir,
      resume: o.resume,
      live: false,
      log,
    });
    const seconds = (performance.now() - t0) / 1000;
    const report = summary.rows.length > 0 ? await writeReport([runDir], { plots: o.plots !== false }) : null;
    outcomes.push({ name: run.name, about: run.about, rows: summary.rows, seconds, failed: summary.failed, charts: report?.charts.map((c) => c.name) ?? [] });
    log(`[${o.name}] run ${run.name}: ${summary.rows.length} trials in ${seconds.toFixed(0)} s${summary.failed.length ? `, ${summary.failed.length} FAILED` : ''}`);
  }
  let flow: FlowAnalysisResult | null = null;
  const fa = manifest.flowAnalysis;
  if (fa && !o.runs) {
    log(`[${o.name}] flow analysis: ρ per layer`);
    flow = await flowAnalysis(join(dir, fa.config), Math.min(fa.samples, o.samples ?? Infinity), fa.theta, o.set ?? []);
  }
  const flows: FlowAnalyses = new Map(flow && fa ? [[fa.name, flow]] : []);
  // Verdicts rest on per-sample predictions, read back from each run directory (the recorded trials' lines).
  const measured = new Map<string, RunMeasurements>(
    outcomes.map((r) => [r.name, { rows: r.rows, predictions: readPredictions(join(resultsDir, r.name), new Set(r.rows.map((x) => x.trial_id))) }]),
  );
  const claims = evaluateClaims(manifest.claims, measured, flows);
  const input = { name: o.name, manifest, command: o.command ?? `npm run reproduce -- ${o.name}`, modelNote: modelNote(outcomes, dir), runs: outcomes, claims, flow };
  const summaryFile = join(resultsDir, 'summary.md');
  writeFileSync(summaryFile, `# ${manifest.title}: measured results\n\n${renderSummary({ ...input, linkPrefix: '' })}`);
  writeFileSync(join(resultsDir, 'summary.json'), `${JSON.stringify({ claims, flow, runs: outcomes.map((r) => ({ name: r.name, seconds: r.seconds, trials: r.rows.length, failed: r.failed })) }, null, 2)}\n`);
  const complete = selected.length === manifest.runs.length && resultsDir === resolve(defaultResults);
  const readme = join(dir, 'README.md');
  let readmeUpdated = false;
  if (complete && existsSync(readme)) {
    const prefix = `${relative(dir, resultsDir)}/`;
    writeFileSync(readme, spliceReadme(readFileSync(readme, 'utf8'), renderSummary({ ...input, linkPrefix: prefix }), readme));
    readmeUpdated = true;
  }
  return { resultsDir, runs: outcomes, claims, flow, summaryFile, readmeUpdated };
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
  return models.map((m) => (m === 'organism' ? `the AV organism (\`models/av-organism\`: ${shape(resolveModelDir(m, experimentDir))} trained here on av-world — **not** the papers' 7B models)` : `\`${m}\` (${shape(resolveModelDir(m, experimentDir))}) — **not the AV organism**: a development stand-in; these numbers say nothing about the papers' claims`)).join('; ');
}

function shape(modelDir: string): string {
  try {
    const c = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8')) as Record<string, number>;
    return `a ${c.num_hidden_layers}-layer, ${c.hidden_size}-wide decoder with ${c.num_key_value_heads} KV heads`;
  } catch {
    return 'shape unknown';
  }
}
