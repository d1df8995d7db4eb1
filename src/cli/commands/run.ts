/** `kvprism run CONFIG [--out DIR] [--shard i/n] [--resume] [--no-shared-prefill] [--set a.b=value ...]` */
import type { CommandModule } from 'yargs';
import { runExperiment } from '../../runner/run-experiment.js';
import { parseShard } from '../../runner/shard.js';
import { sortRows } from '../../runner/report/merge.js';
import { headlineTable, writeReport } from '../../runner/report/report.js';

interface RunArgs {
  config: string;
  out?: string;
  shard?: string;
  resume: boolean;
  set: string[];
  report: boolean;
  sharedPrefill?: boolean;
}

export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run <config>',
  describe: 'Run an experiment config: policies × budgets × seeds, one result row per trial',
  builder: (y) =>
    y
      .positional('config', { type: 'string', demandOption: true, describe: 'YAML experiment config (see `kvprism schema`)' })
      .option('out', { type: 'string', describe: 'Output directory (default: the config\'s output, or results/<name>)' })
      .option('shard', { type: 'string', describe: 'Run only shard I of N (0 ≤ I < N), e.g. 0/4' })
      .option('resume', { type: 'boolean', default: false, describe: 'Continue a run in --out: skip finished trials' })
      .option('set', { type: 'string', array: true, default: [], describe: 'Override a config key: --set samples=8 --set budgets=[0.1,0.2]' })
      .option('report', { type: 'boolean', default: true, describe: 'Write report.md and plots when the run ends' })
      .option('shared-prefill', { type: 'boolean', describe: 'Overrides the config\'s sharedPrefill: --no-shared-prefill runs every trial on its own prefill' }),
  handler: async (argv) => {
    const summary = await runExperiment({
      configFile: argv.config,
      overrides: argv.set,
      out: argv.out,
      shard: argv.shard === undefined ? undefined : parseShard(argv.shard),
      resume: argv.resume,
      sharedPrefill: argv.sharedPrefill,
    });
    console.log(`\n${summary.ran} trials run, ${summary.skipped} already done → ${summary.dir}/results.jsonl`);
    if (argv.report && summary.rows.length > 0) {
      const report = await writeReport([summary.dir]);
      console.log(`\n${headlineTable(sortRows(summary.rows))}\n`);
      console.log(`report: ${report.markdownFile}`);
      const main = report.charts.find((c) => c.name === 'accuracy-vs-budget') ?? report.charts[0];
      if (main) console.log(`plot: ${main.png} (and ${report.charts.length - 1} more in ${report.outDir}/plots)`);
    }
    if (summary.failed.length > 0) {
      console.error(`\n${summary.failed.length} trials failed (details in ${summary.dir}/errors.jsonl; --resume retries them):`);
      for (const f of summary.failed) console.error(`  ${f.trial}: ${f.error}`);
      process.exitCode = 1;
    }
  },
};
