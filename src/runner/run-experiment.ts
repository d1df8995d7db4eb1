/**
 * `kvprism run`: config → trials (this shard's slice) → options checked against the model →
 * DIR/run.lock taken (one live run per directory) → skip finished trials (--resume) → run
 * each, committing its predictions.jsonl lines then its row → config.resolved.yaml,
 * run_meta.json, results.*.
 */
import { BUNDLED_MODELS, isBundledModel } from './bundled-models.js';
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { policies as catalog } from '../policies/catalog.js';
import type { PolicyRegistry } from '../policies/registry.js';
import { loadConfig, type LoadedConfig } from './config-load.js';
import { DatasetSource } from './dataset-source.js';
import { loadModelConfig } from '../model/config.js';
import { checkOptionsForModel } from './model-option-checks.js';
import type { ExecutorFactory } from './executor.js';
import { PeakRss } from './metrics.js';
import { createProgress, type ProgressSink } from './progress.js';
import { ReferenceStore } from './reference-store.js';
import type { ResultRow } from './result-row.js';
import { ResultsStore, atomicWrite } from './results-store.js';
import { collectRunMeta } from './run-meta.js';
import { acquireRunLock } from './run-lock.js';
import { selectShard, type Shard } from './shard.js';
import { storageLabel } from './storage-axis.js';
import { expandTrials, type Trial } from './sweep.js';
import { runSampleMajor } from './shared-prefill-runner.js';
import { runTrial, type TrialContext } from './trial-runner.js';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface RunOptions {
  configFile: string;
  /** "a.b=value" overrides applied after `extends:`. */
  overrides?: string[];
  out?: string;
  shard?: Shard;
  resume?: boolean;
  /** The model runtime (default: the real one, src/runner/model-executor.ts). */
  executorFactory?: ExecutorFactory;
  registry?: PolicyRegistry;
  /** Live progress bar on/off (default: whether the stream is a TTY). */
  live?: boolean;
  /** Where progress goes (default stderr). */
  progressStream?: NodeJS.WriteStream;
  log?: (line: string) => void;
  /** Overrides the config's `sharedPrefill` (the CLI's --no-shared-prefill). */
  sharedPrefill?: boolean;
}

export interface RunSummary {
  dir: string;
  /** Trials of this shard. */
  trials: Trial[];
  ran: number;
  skipped: number;
  rows: ResultRow[];
  /** Trials that threw (not recorded, so --resume retries them); also in DIR/errors.jsonl. */
  failed: { trial: string; error: string }[];
  repaired: { tornBytes: number; duplicates: number };
}

/** Model folder for a config's `model` ("organism" → the bundled AV organism). */
export function resolveModelDir(model: string, baseDir: string): string {
  return isBundledModel(model) ? join(packageRoot, 'models', BUNDLED_MODELS[model]!) : resolve(baseDir, model);
}

export function outputDir(loaded: LoadedConfig, out?: string): string {
  return resolve(out ?? loaded.config.output ?? join('results', loaded.config.name));
}

export async function runExperiment(opts: RunOptions): Promise<RunSummary> {
  const loaded = loadConfig(opts.configFile, opts.overrides);
  const { config } = loaded;
  const all = expandTrials(config, opts.registry ?? catalog, loaded.file);
  const trials = selectShard(all, opts.shard);
  const shardLabel = opts.shard ? `${opts.shard.index}/${opts.shard.count}` : '0/1';
  const dir = outputDir(loaded, opts.out);
  const modelDir = resolveModelDir(config.model, loaded.baseDir);
  if (!existsSync(join(modelDir, 'config.json'))) {
    throw new Error(`${loaded.file}: model: no model at "${modelDir}" (expected a folder with config.json${isBundledModel(config.model) ? '; train it with `npm run organism:train`' : ''})`);
  }
  checkOptionsForModel(config, opts.registry ?? catalog, loadModelConfig(modelDir), loaded.file);
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  mkdirSync(dir, { recursive: true });
  const lock = acquireRunLock(dir, { log });
  let store: ResultsStore;
  try {
    store = ResultsStore.open(dir, { fresh: !opts.resume });
  } catch (e) {
    lock.release();
    throw e;
  }
  try {
    if (store.repaired.tornBytes || store.repaired.duplicates) {
      log(`resume: dropped a torn last line (${store.repaired.tornBytes} bytes) and ${store.repaired.duplicates} repeated rows`);
    }
    const resolvedConfig = { ...config, model: modelDir, dataset: config.dataset.kind === 'jsonl' ? { ...config.dataset, path: resolve(loaded.baseDir, config.dataset.path) } : config.dataset, output: dir };
    atomicWrite(join(dir, 'config.resolved.yaml'), `# ${loaded.file} after extends, --set and defaults (paths made absolute)\n${YAML.stringify(resolvedConfig)}`);
    const pending = trials.filter((t) => !store.has(t.id));
    const failed: RunSummary['failed'] = [];
    const factory = opts.executorFactory ?? (await import('./model-executor.js')).modelExecutorFactory;
    const executor = await factory({ modelDir, backend: config.backend, threads: config.threads });
    try {
      const threadChoice = executor.threadChoice;
      if (threadChoice) log(`threads auto: ${threadChoice.chosen} (${threadChoice.speeds.map((s) => `${s.threads}: ${s.tokPerSec.toFixed(1)} tok/s`).join(', ') || threadChoice.measuredOn})`);
      atomicWrite(join(dir, 'run_meta.json'), `${JSON.stringify(collectRunMeta({ threads: config.threads, threadChoice, backend: executor.backendName, shard: shardLabel }), null, 2)}\n`);
      const progress = createProgress({ trials: pending.length, samplesPerTrial: config.samples, live: opts.live, stream: opts.progressStream });
      if (pending.length < trials.length) progress.log(`resume: ${trials.length - pending.length} of ${trials.length} trials already recorded in ${dir}`);
      const ctx: TrialContext = {
        executor,
        dataset: new DatasetSource(config.dataset, loaded.baseDir),
        references: new ReferenceStore(dir),
        peak: new PeakRss(),
        shard: shardLabel,
        recordPredictions: (lines) => store.appendPredictions(lines),
        onSample: async () => {
          progress.sampleDone();
          // Models run synchronously; let the progress bar's redraw timer fire between samples.
          await new Promise((r) => setTimeout(r, 0));
        },
      };
      try {
        const shared = opts.sharedPrefill ?? config.sharedPrefill;
        failed.push(...(await (shared ? runPendingSampleMajor : runPending)(pending, ctx, store, progress, dir)));
      } finally {
        progress.stop();
      }
    } finally {
      executor.close?.();
    }
    const ids = new Set(trials.map((t) => t.id));
    const rows = store.rows().filter((r) => ids.has(r.trial_id));
    return { dir, trials, ran: pending.length - failed.length, skipped: trials.length - pending.length, rows, failed, repaired: store.repaired };
  } finally {
    store.close();
    lock.release();
  }
}

function trialName(trial: Trial): string {
  return `${trial.label} @ ${trial.budgetLabel} seed ${trial.seed}${trial.protocol === 'query-aware' ? '' : ` ${trial.protocol}`}${storageNote(trial)}`;
}

/** The storage, named in progress lines when the config chose one (cache.storage, maybe swept). */
function storageNote(trial: Trial): string {
  return trial.cache.storage === undefined ? '' : ` [${storageLabel(trial.cache)}]`;
}

/** One broken policy must not sink a sweep: the trial is not recorded, so --resume retries it. */
function recordFailure(trial: Trial, e: unknown, failed: RunSummary['failed'], progress: ProgressSink, dir: string): void {
  const name = trialName(trial);
  const error = e instanceof Error ? e.message : String(e);
  failed.push({ trial: name, error });
  appendFileSync(join(dir, 'errors.jsonl'), `${JSON.stringify({ trial_id: trial.id, trial: name, error, at: new Date().toISOString() })}\n`);
  progress.trialDone(`${name}: FAILED — ${error}`);
}

/** Runs trials in order, each on its own prefills, committing each row. */
async function runPending(pending: Trial[], ctx: TrialContext, store: ResultsStore, progress: ProgressSink, dir: string): Promise<RunSummary['failed']> {
  const failed: RunSummary['failed'] = [];
  for (const trial of pending) {
    progress.startTrial(trialName(trial));
    let row: ResultRow;
    try {
      row = await runTrial(trial, ctx);
    } catch (e) {
      recordFailure(trial, e, failed, progress, dir);
      continue;
    }
    store.append(row);
    progress.trialDone(summarize(row, trial));
  }
  return failed;
}

/** Runs trials sample-major over shared prefills, committing each trial's row when its group ends. */
async function runPendingSampleMajor(pending: Trial[], ctx: TrialContext, store: ResultsStore, progress: ProgressSink, dir: string): Promise<RunSummary['failed']> {
  const failed: RunSummary['failed'] = [];
  await runSampleMajor(pending, ctx, {
    onGroup: (group) => progress.startTrial(`${group.length} trials sharing prefills`),
    onRow: (trial, row) => {
      store.append(row);
      progress.trialDone(summarize(row, trial));
    },
    onError: (trial, e) => recordFailure(trial, e, failed, progress, dir),
  });
  return failed;
}

function summarize(r: ResultRow, trial: Trial): string {
  const f = (x: number | null, d = 3): string => (x === null ? '–' : x.toFixed(d));
  const kb = r.total_bytes === null ? '–' : `${(r.total_bytes / 1024).toFixed(1)} KiB`;
  return `${r.label} @ ${r.budget} seed ${r.seed}${storageNote(trial)}: acc ${f(r.accuracy)} KL ${f(r.kl, 4)} top1 ${f(r.top1_agreement)} cache ${kb} (${(r.wall_ms / 1000).toFixed(1)} s)`;
}
