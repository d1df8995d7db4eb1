/**
 * `npm run organism:exists -- [--model DIR --frames F --clips N --split test --layer L --head H]`:
 * prints where the answer head looks on object-exists questions (see match-attention.ts);
 * `npm run organism:count` (`--family sound-count`) does the same for counting questions
 * (see count-attention.ts).
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { SPLITS, type Split } from '../../datasets/av-world/index.js';
import { loadOrganism } from './hf-folder.js';
import { matchAttention, matchAttentionTable } from './match-attention.js';
import { countAttention, countAttentionTable } from './count-attention.js';
import { OrtKernels } from './ort-kernels.js';

const DIAGNOSED = ['object-exists', 'sound-count'] as const;

async function main(): Promise<void> {
  const argv = await yargs(hideBin(process.argv))
    .option('family', { type: 'string', default: 'object-exists', choices: [...DIAGNOSED] })
    .option('model', { type: 'string', default: 'models/av-organism' })
    .option('frames', { type: 'number', default: 40, describe: 'clip length (the default preset has 40)' })
    .option('clips', { type: 'number', default: 60, describe: 'clips read; each poses up to 3 questions of the family' })
    .option('split', { type: 'string', default: 'test', choices: [...SPLITS] })
    .option('seed', { type: 'number', default: 0 })
    .option('layer', { type: 'number', describe: 'layer read (default: the last)' })
    .option('head', { type: 'number', default: 0, describe: "head read (the family's answer head; see the model card)" })
    .option('threads', { type: 'number', default: 2 })
    .strict()
    .parse();
  for (const k of ['frames', 'clips', 'threads'] as const) {
    if (!Number.isInteger(argv[k]) || argv[k] <= 0) throw new RangeError(`organism:${argv.family === 'sound-count' ? 'count' : 'exists'}: --${k} must be a positive integer; got ${argv[k]}`);
  }
  const { model, vocab } = loadOrganism(argv.model);
  const k = await OrtKernels.create(argv.threads);
  const o = { frames: argv.frames, clips: argv.clips, split: argv.split as Split, seed: argv.seed, layer: argv.layer, head: argv.head };
  const table = argv.family === 'sound-count' ? countAttentionTable(await countAttention(k, model, vocab, o)) : matchAttentionTable(await matchAttention(k, model, vocab, o));
  console.log(`${argv.model}: ${argv.family}, ${argv.frames}-frame ${argv.split} clips (seed ${argv.seed}), layer ${argv.layer ?? model.config.layers - 1} head ${argv.head} of the answer row\n`);
  console.log(table);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
