/**
 * `npm run organism:exists -- [--model DIR --frames F --clips N --split test --layer L --head H]`:
 * prints where the answer head looks on object-exists questions (see match-attention.ts);
 * `npm run organism:count` (`--family sound-count`) does the same for counting questions
 * (see count-attention.ts); `npm run organism:question -- --family F` prints which words of
 * its question the answer row's question head reads, for any family (question-attention.ts);
 * `npm run organism:evidence` prints, per layer, how much of the answer row's attention lands on
 * the evidence of each family's questions (evidence-attention.ts).
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { FAMILIES, SPLITS, avWorldSamples, withFrames, PRESETS, type Family, type Split } from '../datasets/av-world/index.js';
import { evidenceAttention, evidenceAttentionTable } from './evidence-attention.js';
import { loadOrganism } from './hf-folder.js';
import { matchAttention, matchAttentionTable } from './match-attention.js';
import { countAttention, countAttentionTable } from './count-attention.js';
import { OrtKernels } from './ort-kernels.js';
import { questionAttention, questionAttentionTable } from './question-attention.js';

const DIAGNOSED = ['object-exists', 'sound-count'] as const;

async function main(): Promise<void> {
  const argv = await yargs(hideBin(process.argv))
    .option('family', { type: 'string', default: 'object-exists', choices: [...FAMILIES], describe: `answer-head tables exist for ${DIAGNOSED.join(' and ')}; --question reads any family` })
    .option('evidence', { type: 'boolean', default: false, describe: 'every family: the answer row\'s attention mass on the evidence, per layer (mean head and best head); --clips samples cycling through the families' })
    .option('question', { type: 'boolean', default: false, describe: 'read the question head (default layer 0, head 2) over the question words instead of the answer head over the clip' })
    .option('model', { type: 'string', default: 'models/av-organism' })
    .option('frames', { type: 'number', default: 40, describe: 'clip length (the default preset has 40)' })
    .option('clips', { type: 'number', default: 60, describe: 'clips read; each poses up to 3 questions of the family' })
    .option('split', { type: 'string', default: 'test', choices: [...SPLITS] })
    .option('seed', { type: 'number', default: 0 })
    .option('layer', { type: 'number', describe: 'layer read (default: the last; 0 with --question)' })
    .option('head', { type: 'number', describe: "head read (default: 0, the family's answer head; 2 with --question; see the model card)" })
    .option('threads', { type: 'number', default: 2 })
    .strict()
    .parse();
  const family = argv.family as Family;
  const command = `organism:${argv.evidence ? 'evidence' : argv.question ? 'question' : family === 'sound-count' ? 'count' : 'exists'}`;
  for (const k of ['frames', 'clips', 'threads'] as const) {
    if (!Number.isInteger(argv[k]) || argv[k] <= 0) throw new RangeError(`${command}: --${k} must be a positive integer; got ${argv[k]}`);
  }
  if (!argv.evidence && !argv.question && !(DIAGNOSED as readonly string[]).includes(family)) throw new RangeError(`${command}: the answer-head table covers ${DIAGNOSED.join(' and ')}; for ${family} pass --question`);
  const { model, vocab } = loadOrganism(argv.model);
  const k = await OrtKernels.create(argv.threads);
  if (argv.evidence) {
    const samples = avWorldSamples({ preset: withFrames(PRESETS.default, argv.frames), split: argv.split as Split, count: argv.clips, seed: argv.seed });
    console.log(`${argv.model}: the answer row's attention on the evidence, ${argv.clips} ${argv.frames}-frame ${argv.split} samples (seed ${argv.seed}) cycling through the families\n`);
    console.log(evidenceAttentionTable(await evidenceAttention(k, model, vocab, samples)));
    return;
  }
  const layer = argv.layer ?? (argv.question ? 0 : model.config.layers - 1);
  const head = argv.head ?? (argv.question ? 2 : 0);
  const o = { frames: argv.frames, clips: argv.clips, split: argv.split as Split, seed: argv.seed, layer, head };
  const table = argv.question
    ? questionAttentionTable(await questionAttention(k, model, vocab, family, o))
    : family === 'sound-count' ? countAttentionTable(await countAttention(k, model, vocab, o)) : matchAttentionTable(await matchAttention(k, model, vocab, o));
  console.log(`${argv.model}: ${family}, ${argv.frames}-frame ${argv.split} clips (seed ${argv.seed}), layer ${layer} head ${head} of the answer row${argv.question ? ', over its question' : ''}\n`);
  console.log(table);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
