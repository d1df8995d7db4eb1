/**
 * The flags of `npm run organism:train`, parsed into TrainOptions. One parser serves the
 * command line and every stage of a recipe (recipe.ts), so a stage accepts exactly the flags
 * the command does, with the same checks and messages.
 */
import yargs, { type Argv } from 'yargs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FAMILIES, type Family } from '../datasets/av-world/index.js';
import { DEFAULT_ARCH } from './config.js';
import { ABSENT_EVIDENCE, EXISTS_BY, type AbsentEvidence, type ExistsBy } from './train-data.js';
import type { TrainOptions } from './train.js';

function parseFamilies(list: string, where: string): Family[] {
  return list.split(',').map((f) => {
    if (!(FAMILIES as readonly string[]).includes(f)) throw new RangeError(`${where}: --families: "${f}" is not a family; expected some of ${FAMILIES.join(', ')}`);
    return f as Family;
  });
}

/** "object-exists=2,sound-count=1" → { 'object-exists': 2, 'sound-count': 1 }, each value an integer ≥ min. */
function parseFamilyInts(list: string, flag: string, min: number, where: string): Partial<Record<Family, number>> {
  const out: Partial<Record<Family, number>> = {};
  for (const item of list.split(',')) {
    const m = /^([a-z-]+)=(\d+)$/.exec(item.trim());
    if (!m || Number(m[2]) < min) throw new RangeError(`${where}: --${flag}: "${item}" is not <family>=<integer ≥ ${min}>; expected e.g. object-exists=2`);
    const [family] = parseFamilies(m[1]!, where);
    out[family!] = Number(m[2]);
  }
  return out;
}

/** "2,3" → [2, 3]. */
function parseLayerList(list: string, where: string): number[] {
  return list.split(',').map((item) => {
    const t = item.trim();
    if (!/^\d+$/.test(t)) throw new RangeError(`${where}: --reinit-layers: "${item}" is not a layer index; expected e.g. 3 or 2,3`);
    return Number(t);
  });
}

function positiveNumber(v: number, flag: string, where: string): number {
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${where}: --${flag} must be a positive number; got ${v}`);
  return v;
}

/** The option table of one training run. */
export function trainFlags<T>(y: Argv<T>) {
  return y
    .option('seed', { type: 'number', default: 1 })
    .option('steps', { type: 'number', default: 1200 })
    .option('stop-at', { type: 'number', describe: 'stop after this step; the schedule still runs over --steps (a stage that is the first part of a longer schedule)' })
    .option('lr', { type: 'number', default: 2e-3 })
    .option('warmup', { type: 'number', default: 100 })
    .option('tokens-per-batch', { type: 'number', default: 4400 })
    .option('min-frames', { type: 'number', default: 8 })
    .option('max-frames', { type: 'number', default: 40 })
    .option('ramp-fraction', { type: 'number', default: 0.6 })
    .option('threads', { type: 'number', default: 2 })
    .option('eval-every', { type: 'number', default: 200 })
    .option('eval-count', { type: 'number', default: 60 })
    .option('test-count', { type: 'number', default: 300 })
    .option('checkpoint-every', { type: 'number', default: 100 })
    .option('checkpoint-dir', { type: 'string', default: join(tmpdir(), 'kvprism-organism') })
    .option('out', { type: 'string', default: 'models/av-organism' })
    .option('time-limit-min', { type: 'number', default: 55 })
    .option('aux-weight', { type: 'number', default: 0.5 })
    .option('questions-per-family', { type: 'number', default: 3 })
    .option('attention-weight', { type: 'number', default: 1, describe: 'weight of the attention-supervision losses (0 = off)' })
    .option('probe-weight', { type: 'number', default: 1, describe: 'weight of the training-only readout probe on the answer head (0 = off)' })
    .option('question-probe-weight', { type: 'number', default: 0, describe: 'weight of a training-only probe asking the question head (layer 0, head 2) to carry every attribute word the question names to the answer row (0 = off)' })
    .option('separate-aux-head', { type: 'boolean', default: false, describe: 'predict the dense media labels with a training-only head instead of lm_head' })
    .option('families', { type: 'string', describe: 'comma-separated question families to train on (default: all)' })
    .option('resume', { type: 'string', describe: 'checkpoint .safetensors to continue from' })
    .option('init', { type: 'string', describe: 'checkpoint .safetensors whose weights start a new run (fresh optimizer and schedule)' })
    .option('reinit-layers', { type: 'string', describe: 'with --init: comma-separated decoder layers that start from their fresh initialisation instead of the checkpoint (e.g. 3, the answer layer)' })
    .option('motion-labels', { type: 'boolean', default: false, describe: 'dense media labels also mark the moving object\'s patches "moved" once it has left its start' })
    .option('init-command', { type: 'string', describe: 'the command that produced --init, recorded in the model card' })
    .option('uniform-count', { type: 'boolean', default: false, describe: 'counting questions ask for attention spread evenly over <s> and the matching onsets, not only for their mass' })
    .option('uniform-question', { type: 'boolean', default: false, describe: 'the question head (layer 0, head 2) spreads its attention evenly over the question\'s content words, not only their total mass (which the family word alone satisfies)' })
    .option('family-questions', { type: 'string', describe: 'questions per clip for some families, overriding --questions-per-family, e.g. object-exists=10' })
    .option('family-heads', { type: 'string', describe: 'last-layer answer head per family, e.g. object-exists=2,sound-count=1 (default: head 0 for all)' })
    .option('rope-theta', { type: 'number', describe: `RoPE base (default ${DEFAULT_ARCH.ropeTheta}); --resume and --init need the value their checkpoint was trained with` })
    .option('absent-evidence', { type: 'string', default: 'none', choices: [...ABSENT_EVIDENCE], describe: 'where object-exists "no" answers are supervised to look: nowhere, <s>, the answer row itself, or read as a count against <s> (count: "yes" rows spread evenly over <s> and the object)' })
    .option('exists-by', { type: 'string', default: 'object', choices: [...EXISTS_BY], describe: 'how the answer head reads object-exists questions: the named object\'s patches, or (colour) every object of the asked colour, its readout probe taught their shape, so only one attribute is matched per hop' });
}

type FlagValues = Awaited<ReturnType<ReturnType<typeof trainFlags>['parse']>>;

/** Checks and converts parsed flags; `where` prefixes every message (the command, or a recipe stage). */
export function trainOptionsFrom(a: FlagValues, where: string): TrainOptions {
  for (const k of ['steps', 'warmup', 'tokensPerBatch', 'minFrames', 'maxFrames', 'threads', 'evalEvery', 'evalCount', 'testCount', 'checkpointEvery', 'questionsPerFamily'] as const) {
    if (!Number.isInteger(a[k]) || a[k] <= 0) throw new RangeError(`${where}: --${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must be a positive integer; got ${a[k]}`);
  }
  if (a.stopAt !== undefined && !(Number.isInteger(a.stopAt) && a.stopAt > 0 && a.stopAt <= a.steps)) throw new RangeError(`${where}: --stop-at must be an integer in 1..--steps (${a.steps}); got ${a.stopAt}`);
  return {
    seed: a.seed, steps: a.steps, stopAt: a.stopAt, lr: a.lr, warmup: a.warmup, tokensPerBatch: a.tokensPerBatch,
    minFrames: a.minFrames, maxFrames: a.maxFrames, rampFraction: a.rampFraction, threads: a.threads,
    evalEvery: a.evalEvery, evalCount: a.evalCount, testCount: a.testCount, checkpointEvery: a.checkpointEvery,
    checkpointDir: a.checkpointDir, out: a.out, timeLimitMin: a.timeLimitMin, auxWeight: a.auxWeight, attentionWeight: a.attentionWeight, separateAuxHead: a.separateAuxHead,
    probeWeight: a.probeWeight, questionProbeWeight: a.questionProbeWeight, questionsPerFamily: a.questionsPerFamily, resume: a.resume, init: a.init, initCommand: a.initCommand,
    absentEvidence: a.absentEvidence as AbsentEvidence,
    families: a.families ? parseFamilies(a.families, where) : undefined,
    uniformCount: a.uniformCount,
    existsBy: a.existsBy as ExistsBy,
    uniformQuestion: a.uniformQuestion,
    motionLabels: a.motionLabels,
    reinitLayers: a.reinitLayers === undefined ? undefined : parseLayerList(a.reinitLayers, where),
    familyHeads: a.familyHeads === undefined ? undefined : parseFamilyInts(a.familyHeads, 'family-heads', 0, where),
    familyQuestions: a.familyQuestions === undefined ? undefined : parseFamilyInts(a.familyQuestions, 'family-questions', 1, where),
    arch: a.ropeTheta === undefined ? undefined : { ropeTheta: positiveNumber(a.ropeTheta, 'rope-theta', where) },
  };
}

/** Parses a flag list (a recipe stage) with the command's own table; unknown flags and bad values throw. */
export async function parseTrainFlags(args: readonly string[], where: string): Promise<TrainOptions> {
  const argv = await trainFlags(yargs([...args]))
    .strict()
    .help(false)
    .version(false)
    .exitProcess(false)
    .fail((msg, err) => {
      throw new RangeError(`${where}: ${err?.message ?? msg}`);
    })
    .parse();
  return trainOptionsFrom(argv, where);
}
