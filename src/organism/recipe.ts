/**
 * A training recipe: a YAML file of stages, each a map of `organism:train` flags, run in order
 * by one command. Every stage after the first starts from the weights the one before ended
 * with (fresh optimizer and schedule); the last one is evaluated and written as the model.
 * Each stage checkpoints into `<checkpoint-dir>/<name>`, so a killed recipe run again skips the
 * stages that finished and resumes the one that was cut; a folder trained with other flags is
 * refused rather than silently reused.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { ConfigError } from '../util/config-error.js';
import { parseTrainFlags } from './train-options.js';
import { STAGE_DONE, finishOrganism, trainStage, type TrainOptions, type TrainResult } from './train.js';

/** Flags a stage may not set: the recipe decides where stages read and write. */
const MANAGED = ['init', 'resume', 'init-command', 'out', 'checkpoint-dir'] as const;

export interface RecipeStage {
  name: string;
  /** The stage's flags as written in the recipe (for the model card). */
  flags: string[];
  options: TrainOptions;
}

export interface StageReport {
  name: string;
  flags: string[];
  steps: number;
  planned: number;
  minutes: number;
}

type Scalar = string | number | boolean;

/** One YAML key/value → command-line tokens (`--k=v`, `--k`, `--no-k`). */
function flagTokens(key: string, value: Scalar): string[] {
  if (typeof value === 'boolean') return [value ? `--${key}` : `--no-${key}`];
  return [`--${key}=${value}`];
}

/** Reads and checks a recipe; every stage's flags go through the command's own parser. */
export async function loadRecipe(file: string, paths: { out: string; checkpointDir: string }): Promise<RecipeStage[]> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [`cannot read the recipe (${(e as NodeJS.ErrnoException).code ?? e})`]);
  }
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (e) {
    throw new ConfigError(file, [`not valid YAML: ${(e as Error).message}`]);
  }
  const top = doc as { stages?: unknown } | null;
  if (top === null || typeof top !== 'object' || Array.isArray(top)) throw new ConfigError(file, ['(top level): expected a mapping with a `stages:` list']);
  const extra = Object.keys(top).filter((k) => k !== 'stages');
  if (extra.length > 0) throw new ConfigError(file, extra.map((k) => `${k}: not a recipe key; expected only \`stages:\` (a list of stages, each \`name:\` and organism:train flags)`));
  if (!Array.isArray(top.stages) || top.stages.length === 0) throw new ConfigError(file, ['stages: expected a non-empty list of stages']);
  const names = new Set<string>();
  const stages: RecipeStage[] = [];
  for (const [i, raw] of top.stages.entries()) {
    const at = `stages[${i}]`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(file, [`${at}: expected a mapping of \`name:\` and organism:train flags`]);
    const { name, ...rest } = raw as Record<string, unknown>;
    if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new ConfigError(file, [`${at}.name: expected a lower-case name of letters, digits and dashes (it names the stage's checkpoint folder); got ${JSON.stringify(name)}`]);
    if (names.has(name)) throw new ConfigError(file, [`${at}.name: "${name}" is used by an earlier stage; names must be unique`]);
    names.add(name);
    const flags: string[] = [];
    for (const [key, value] of Object.entries(rest)) {
      if ((MANAGED as readonly string[]).includes(key)) throw new ConfigError(file, [`${at}.${key}: set by the recipe (each stage starts from the stage before and writes to <checkpoint-dir>/<name>); remove it`]);
      if (!['string', 'number', 'boolean'].includes(typeof value)) throw new ConfigError(file, [`${at}.${key}: expected a number, string or true/false; got ${JSON.stringify(value)}`]);
      flags.push(...flagTokens(key, value as Scalar));
    }
    const where = `${file}: ${at} (${name})`;
    const options = await parseTrainFlags([...flags, `--out=${paths.out}`, `--checkpoint-dir=${join(paths.checkpointDir, name)}`], where);
    stages.push({ name, flags, options });
  }
  return stages;
}

const checkpointOf = (o: TrainOptions) => join(o.checkpointDir, 'checkpoint.safetensors');

/** Beside a stage's checkpoint: the flags it was trained with, so an edited recipe is not mixed with old checkpoints. */
const STAGE_FLAGS = 'recipe-stage.json';

function claimStageFolder(stage: RecipeStage, o: TrainOptions): void {
  const file = join(o.checkpointDir, STAGE_FLAGS);
  if (existsSync(file)) {
    const before = (JSON.parse(readFileSync(file, 'utf8')) as { flags: string[] }).flags;
    if (before.join(' ') !== stage.flags.join(' ')) {
      throw new Error(`recipe stage ${stage.name}: ${o.checkpointDir} holds a checkpoint trained with other flags (${before.join(' ')}); delete that folder to train the stage again, or give another --checkpoint-dir`);
    }
    return;
  }
  mkdirSync(o.checkpointDir, { recursive: true });
  writeFileSync(file, `${JSON.stringify({ flags: stage.flags })}\n`);
}

/**
 * Runs the stages in order and evaluates the last. A stage whose folder holds STAGE_DONE is not
 * trained again (the last one is reloaded from its checkpoint); one with only a checkpoint resumes.
 */
export async function runRecipe(file: string, stages: readonly RecipeStage[], log: (line: string) => void = console.log): Promise<{ result: TrainResult; stages: StageReport[] }> {
  const reports: StageReport[] = [];
  let previous: string | undefined;
  let result: TrainResult | undefined;
  for (const [i, stage] of stages.entries()) {
    const o: TrainOptions = { ...stage.options, init: previous };
    const done = join(o.checkpointDir, STAGE_DONE);
    const last = i === stages.length - 1;
    claimStageFolder(stage, o);
    if (existsSync(done)) {
      const d = JSON.parse(readFileSync(done, 'utf8')) as { steps: number; minutes: number };
      reports.push({ name: stage.name, flags: stage.flags, steps: d.steps, planned: o.stopAt ?? o.steps, minutes: d.minutes });
      previous = checkpointOf(o);
      log(`stage ${stage.name}: finished earlier (${d.steps} steps, ${d.minutes.toFixed(1)} min); ${last ? 'reloading it' : 'skipped'}`);
      // Reloading at its final step trains nothing; it only gives finishOrganism the weights.
      if (last) result = await finishOrganism(await trainStage({ ...o, init: undefined, resume: previous, stopAt: d.steps }, log), o, log);
      continue;
    }
    if (existsSync(checkpointOf(o))) {
      o.resume = checkpointOf(o);
      o.init = undefined;
    }
    log(`stage ${stage.name} (${i + 1}/${stages.length}): ${stage.flags.join(' ')}${o.resume ? ` — resuming ${o.resume}` : o.init ? ` — from ${o.init}` : ''}`);
    const trained = await trainStage(o, log);
    reports.push({ name: stage.name, flags: stage.flags, steps: trained.steps, planned: o.stopAt ?? o.steps, minutes: trained.minutes });
    previous = checkpointOf(o);
    if (last) result = await finishOrganism(trained, o, log);
  }
  const out = stages.at(-1)!.options.out;
  if (resolve(file) !== resolve(join(out, 'recipe.yaml'))) copyFileSync(file, join(out, 'recipe.yaml'));
  return { result: result!, stages: reports };
}
