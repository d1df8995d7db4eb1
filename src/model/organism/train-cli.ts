/**
 * `npm run organism:train [-- --steps N --seed S …]`: trains the AV organism and writes the
 * HF folder (default models/av-organism) with its model card.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { trainOrganism, type TrainOptions } from './train.js';
import { modelCard } from './model-card.js';
import { FAMILIES, type Family } from '../../datasets/av-world/index.js';
import { DEFAULT_ARCH } from './config.js';
import { ABSENT_EVIDENCE, EXISTS_BY, type AbsentEvidence, type ExistsBy } from './train-data.js';

function parseFamilies(list: string): Family[] {
  return list.split(',').map((f) => {
    if (!(FAMILIES as readonly string[]).includes(f)) throw new RangeError(`organism:train: --families: "${f}" is not a family; expected some of ${FAMILIES.join(', ')}`);
    return f as Family;
  });
}

/** "object-exists=2,sound-count=1" → { 'object-exists': 2, 'sound-count': 1 }, each value an integer ≥ min. */
function parseFamilyInts(list: string, flag: string, min: number): Partial<Record<Family, number>> {
  const out: Partial<Record<Family, number>> = {};
  for (const item of list.split(',')) {
    const m = /^([a-z-]+)=(\d+)$/.exec(item.trim());
    if (!m || Number(m[2]) < min) throw new RangeError(`organism:train: --${flag}: "${item}" is not <family>=<integer ≥ ${min}>; expected e.g. object-exists=2`);
    const [family] = parseFamilies(m[1]!);
    out[family!] = Number(m[2]);
  }
  return out;
}

function positiveNumber(v: number, flag: string): number {
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`organism:train: --${flag} must be a positive number; got ${v}`);
  return v;
}

async function main(): Promise<void> {
  const argv = await yargs(hideBin(process.argv))
    .scriptName('organism:train')
    .option('seed', { type: 'number', default: 1 })
    .option('steps', { type: 'number', default: 1200 })
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
    .option('init-command', { type: 'string', describe: 'the command that produced --init, recorded in the model card' })
    .option('uniform-count', { type: 'boolean', default: false, describe: 'counting questions ask for attention spread evenly over <s> and the matching onsets, not only for their mass' })
    .option('uniform-question', { type: 'boolean', default: false, describe: 'the question head (layer 0, head 2) spreads its attention evenly over the question\'s content words, not only their total mass (which the family word alone satisfies)' })
    .option('family-questions', { type: 'string', describe: 'questions per clip for some families, overriding --questions-per-family, e.g. object-exists=10' })
    .option('family-heads', { type: 'string', describe: 'last-layer answer head per family, e.g. object-exists=2,sound-count=1 (default: head 0 for all)' })
    .option('rope-theta', { type: 'number', describe: `RoPE base (default ${DEFAULT_ARCH.ropeTheta}); --resume and --init need the value their checkpoint was trained with` })
    .option('absent-evidence', { type: 'string', default: 'none', choices: [...ABSENT_EVIDENCE], describe: 'where object-exists "no" answers are supervised to look: nowhere, <s>, the answer row itself, or read as a count against <s> (count: "yes" rows spread evenly over <s> and the object)' })
    .option('exists-by', { type: 'string', default: 'object', choices: [...EXISTS_BY], describe: 'how the answer head reads object-exists questions: the named object\'s patches, or (colour) every object of the asked colour, its readout probe taught their shape, so only one attribute is matched per hop' })
    .strict()
    .parse();
  for (const k of ['steps', 'warmup', 'tokensPerBatch', 'minFrames', 'maxFrames', 'threads', 'evalEvery', 'evalCount', 'testCount', 'checkpointEvery', 'questionsPerFamily'] as const) {
    if (!Number.isInteger(argv[k]) || argv[k] <= 0) throw new RangeError(`organism:train: --${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must be a positive integer; got ${argv[k]}`);
  }
  const o: TrainOptions = {
    seed: argv.seed, steps: argv.steps, lr: argv.lr, warmup: argv.warmup, tokensPerBatch: argv.tokensPerBatch,
    minFrames: argv.minFrames, maxFrames: argv.maxFrames, rampFraction: argv.rampFraction, threads: argv.threads,
    evalEvery: argv.evalEvery, evalCount: argv.evalCount, testCount: argv.testCount, checkpointEvery: argv.checkpointEvery,
    checkpointDir: argv.checkpointDir, out: argv.out, timeLimitMin: argv.timeLimitMin, auxWeight: argv.auxWeight, attentionWeight: argv.attentionWeight, separateAuxHead: argv.separateAuxHead, probeWeight: argv.probeWeight, questionProbeWeight: argv.questionProbeWeight, questionsPerFamily: argv.questionsPerFamily, resume: argv.resume, init: argv.init, initCommand: argv.initCommand, absentEvidence: argv.absentEvidence as AbsentEvidence,
    families: argv.families ? parseFamilies(argv.families) : undefined,
    uniformCount: argv.uniformCount,
    existsBy: argv.existsBy as ExistsBy,
    uniformQuestion: argv.uniformQuestion,
    familyHeads: argv.familyHeads === undefined ? undefined : parseFamilyInts(argv.familyHeads, 'family-heads', 0),
    familyQuestions: argv.familyQuestions === undefined ? undefined : parseFamilyInts(argv.familyQuestions, 'family-questions', 1),
    arch: argv.ropeTheta === undefined ? undefined : { ropeTheta: positiveNumber(argv.ropeTheta, 'rope-theta') },
  };
  const r = await trainOrganism(o);
  const command = `npm run organism:train -- ${process.argv.slice(2).join(' ')}`.trim().replace(/ --$/, '');
  writeFileSync(join(o.out, 'README.md'), modelCard(r.model.config, o, r, command));
  console.log(`wrote ${o.out} (${r.steps} steps, ${r.minutes.toFixed(1)} min, test ${(100 * r.test.overall).toFixed(1)} %)`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
