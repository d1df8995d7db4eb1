/**
 * `npm run reproduce -- <name> [--samples N] [--runs a,b] [--settings a,b] [--out DIR] [--set key=value …]`
 * regenerates one paper's tables, plots and claim verdicts from experiments/<name>/
 * (acckv, flowmm, retentivekv): see experiments/README.md.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { listExperiments } from './lib/manifest.js';
import { reproduceExperiment } from './lib/reproduce-experiment.js';

const experimentsDir = dirname(fileURLToPath(import.meta.url));

async function main(): Promise<void> {
  const argv = await yargs(hideBin(process.argv))
    .scriptName('npm run reproduce --')
    .usage('$0 <name> [options]\n\nRuns a paper reproduction into experiments/<name>/results/ and updates its README.')
    .command('$0 <name>', false, (y) => y.positional('name', { type: 'string', demandOption: true, describe: `experiment: ${listExperiments(experimentsDir).join(', ')}` }))
    .option('samples', { type: 'number', describe: "Samples per trial for every run (default: each config's own; slow runs cap it)" })
    .option('runs', { type: 'string', describe: 'Comma-separated runs to do (default all); the README is only updated when all run' })
    .option('out', { type: 'string', describe: 'Results directory (default experiments/<name>/results; elsewhere the README is left alone)' })
    .option('settings', { type: 'string', describe: 'Comma-separated settings to do (default all the experiment declares); the README is only updated when all run' })
    .option('set', { type: 'string', array: true, default: [] as string[], describe: 'Config override for every run, e.g. --set backend=ts' })
    .option('plots', { type: 'boolean', default: true, describe: 'Render the plots (SVG + PNG)' })
    .option('resume', { type: 'boolean', default: false, describe: 'Keep finished trials of an interrupted run' })
    .strict()
    .help()
    .parse();
  const name = String(argv.name);
  const result = await reproduceExperiment({
    name,
    experimentsDir,
    samples: argv.samples,
    runs: argv.runs?.split(',').map((s) => s.trim()).filter(Boolean),
    settings: argv.settings?.split(',').map((s) => s.trim()).filter(Boolean),
    out: argv.out,
    set: argv.set,
    plots: argv.plots,
    resume: argv.resume,
    command: `npm run reproduce -- ${process.argv.slice(2).join(' ')}`,
  });
  for (const s of result.settings) {
    console.log(`\n${name}${s.setting.name ? ` / ${s.setting.name}` : ''}: ${s.claims.length} claims`);
    for (const c of s.claims) console.log(`  [${c.verdict}] ${c.claim}\n      ${c.measured}`);
  }
  console.log(`\nsummary: ${result.summaryFile}${result.readmeUpdated ? ' (README updated)' : ''}`);
  const failed = result.settings.flatMap((s) => s.runs.flatMap((r) => r.failed));
  if (failed.length > 0) {
    console.error(`${failed.length} trials failed: ${failed.map((f) => `${f.trial}: ${f.error}`).join('; ')}`);
    process.exitCode = 1;
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
