/** `kvprism compare A B [--a SEL] [--b SEL]`: paired per-sample differences with bootstrap intervals. */
import type { CommandModule } from 'yargs';
import { compareRuns, compareTable } from '../../runner/report/compare.js';

interface CompareArgs {
  a: string;
  b: string;
  pickA?: string;
  pickB?: string;
  resamples: number;
  confidence: number;
  seed: number;
  json: boolean;
}

export const compareCommand: CommandModule<object, CompareArgs> = {
  command: 'compare <a> <b>',
  describe: 'Paired per-sample differences B − A (from predictions.jsonl) with bootstrap confidence intervals and a verdict',
  builder: (y) =>
    y
      .positional('a', { type: 'string', demandOption: true, describe: 'Run directory A (the baseline)' })
      .positional('b', { type: 'string', demandOption: true, describe: 'Run directory B (may be A itself, with --pick-a / --pick-b)' })
      .option('pick-a', { type: 'string', describe: "A's trials: a trial id, a label, label@budget, label@budget@protocol or label@budget@protocol@storage (default: pair trials by label, budget, protocol, storage and seed); two picks may cross protocols and storages" })
      .option('pick-b', { type: 'string', describe: "B's trials, as --pick-a" })
      .option('resamples', { type: 'number', default: 10_000, describe: 'Bootstrap resamples' })
      .option('confidence', { type: 'number', default: 0.95, describe: 'Two-sided interval coverage, in (0, 1)' })
      .option('seed', { type: 'number', default: 0, describe: 'Seed of the bootstrap resampling' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the comparison as JSON' }),
  // async: a refusal becomes the CLI's one-line error, not a stack trace.
  handler: async (argv) => {
    const pairs = compareRuns(argv.a, argv.b, { a: argv.pickA, b: argv.pickB, resamples: argv.resamples, confidence: argv.confidence, seed: argv.seed });
    if (argv.json) console.log(JSON.stringify(pairs, null, 2));
    else console.log(compareTable(pairs));
  },
};
