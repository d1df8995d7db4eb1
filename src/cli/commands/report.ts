/** `kvprism report DIR... [--out DIR]`: merged tables (policy × budget per metric) and plots. */
import type { CommandModule } from 'yargs';
import { writeReport } from '../../runner/report/report.js';

interface ReportArgs {
  dirs: string[];
  out?: string;
  plots: boolean;
}

export const reportCommand: CommandModule<object, ReportArgs> = {
  command: 'report <dirs..>',
  describe: 'Merge run directories (e.g. shards) into Markdown tables and SVG/PNG plots',
  builder: (y) =>
    y
      .positional('dirs', { type: 'string', array: true, demandOption: true, describe: 'Run directories holding results.jsonl' })
      .option('out', { type: 'string', describe: 'Where report.md and plots/ go (default: the run directory; for several, PARENT/merged)' })
      .option('plots', { type: 'boolean', default: true, describe: 'Render SVG and PNG plots' }),
  handler: async (argv) => {
    const r = await writeReport(argv.dirs, { out: argv.out, plots: argv.plots });
    for (const d of r.repeatedWithin) console.error(`report: ${d.dir}: ${d.dropped} repeated rows dropped (a trial id recorded twice; kept the last complete row)`);
    for (const n of r.notes) console.error(`report: ${n}`);
    console.log(r.markdown);
    console.log(`\n${r.rows.length} trials${r.duplicates.length ? ` (${r.duplicates.length} repeated ids merged)` : ''} → ${r.markdownFile}`);
    for (const c of r.charts) console.log(`plot: ${c.png}`);
  },
};
