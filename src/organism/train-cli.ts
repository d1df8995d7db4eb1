/**
 * `npm run organism:train [-- --steps N --seed S …]`: trains the AV organism and writes the
 * HF folder (default models/av-organism) with its model card. `--recipe FILE` runs a YAML list
 * of stages instead (recipe.ts), each a map of the same flags.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trainOrganism } from './train.js';
import { modelCard } from './model-card.js';
import { trainFlags, trainOptionsFrom } from './train-options.js';
import { loadRecipe, runRecipe } from './recipe.js';

/** Flags that may be given beside --recipe (the recipe's stages hold every other one). */
const BESIDE_RECIPE = ['recipe', 'out', 'checkpoint-dir'];

async function main(): Promise<void> {
  const args = hideBin(process.argv);
  const argv = await trainFlags(yargs(args))
    .scriptName('organism:train')
    .option('recipe', { type: 'string', describe: 'a YAML file of training stages, each `name:` and a map of these flags, run in order (each stage starts from the weights of the one before); only --out and --checkpoint-dir may be given beside it' })
    .strict()
    .parse();
  const command = `npm run organism:train -- ${args.join(' ')}`.trim().replace(/ --$/, '');
  if (argv.recipe !== undefined) {
    const given = args.filter((t) => t.startsWith('--')).map((t) => t.slice(2).split('=')[0]!);
    const beside = given.filter((f) => !BESIDE_RECIPE.includes(f));
    if (beside.length > 0) throw new RangeError(`organism:train: --${beside.join(', --')} cannot be given with --recipe; put ${beside.length > 1 ? 'them' : 'it'} in the recipe's stages (${argv.recipe})`);
    const stages = await loadRecipe(argv.recipe, { out: argv.out, checkpointDir: argv.checkpointDir });
    const { result, stages: reports } = await runRecipe(argv.recipe, stages);
    const last = stages.at(-1)!.options;
    writeFileSync(join(last.out, 'README.md'), modelCard(result.model.config, last, result, command, reports));
    console.log(`wrote ${last.out} (${reports.length} stages, ${reports.reduce((s, r) => s + r.minutes, 0).toFixed(1)} min of training, test ${(100 * result.test.overall).toFixed(1)} %)`);
    return;
  }
  const o = trainOptionsFrom(argv, 'organism:train');
  const r = await trainOrganism(o);
  writeFileSync(join(o.out, 'README.md'), modelCard(r.model.config, o, r, command));
  console.log(`wrote ${o.out} (${r.steps} steps, ${r.minutes.toFixed(1)} min, test ${(100 * r.test.overall).toFixed(1)} %)`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
