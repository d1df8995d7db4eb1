/**
 * `kvprism dataset import <format> --annotations FILE --media DIR --out FILE.jsonl`: turns a
 * benchmark's annotation file (MUSIC-AVQA, AVQA, MVBench, AVSD) into kvprism JSONL whose
 * samples point at the user's media folder (datasets/README.md, "Importing benchmarks").
 */
import type { Argv, CommandModule } from 'yargs';
import { IMPORTERS, ImportError, formatSummary, runImport } from '../../datasets/importers/index.js';

interface ImportArgs {
  format: string;
  annotations: string;
  media: string;
  out: string;
  limit?: number;
  split?: string;
  'allow-missing': boolean;
  'media-pattern'?: string;
  choices?: 'type' | 'all';
  task?: string;
  'all-turns'?: boolean;
}

const importCommand: CommandModule<object, ImportArgs> = {
  command: 'import <format>',
  describe: 'Write kvprism JSONL from a benchmark annotation file',
  builder: (y) =>
    y
      .positional('format', { choices: Object.keys(IMPORTERS), demandOption: true, describe: 'Benchmark format' })
      .option('annotations', { type: 'string', demandOption: true, describe: 'Annotation file (or the folder of split files, with --split)' })
      .option('media', { type: 'string', demandOption: true, describe: 'Folder holding the media files' })
      .option('out', { type: 'string', demandOption: true, describe: 'JSONL file to write' })
      .option('limit', { type: 'number', describe: 'Write at most N samples' })
      .option('split', { type: 'string', describe: 'Split name, picking its file from the --annotations folder (music-avqa, avqa)' })
      .option('allow-missing', { type: 'boolean', default: false, describe: 'Skip samples whose media file is missing (counted) instead of failing' })
      .option('media-pattern', { type: 'string', describe: 'Media file per sample under --media, e.g. "{video_name}.mp4" (default per format)' })
      .option('choices', { choices: ['type', 'all'] as const, describe: 'music-avqa: candidates are the answers of the question type (default) or of the whole file' })
      .option('task', { type: 'string', describe: 'mvbench: task key or name (default: the annotation file name)' })
      .option('all-turns', { type: 'boolean', describe: 'avsd: one sample per dialogue turn instead of per dialogue' }),
  handler: (argv) => {
    try {
      importOnce(argv);
    } catch (e) {
      // Bad annotations or media are the user's to fix: one line naming file, row and field.
      if (!(e instanceof ImportError)) throw e;
      console.error(`kvprism dataset import: ${e.message}`);
      process.exitCode = 1;
    }
  },
};

function importOnce(argv: ImportArgs): void {
  const summary = runImport(IMPORTERS[argv.format]!, {
    annotations: argv.annotations,
    media: argv.media,
    out: argv.out,
    limit: argv.limit,
    split: argv.split,
    allowMissing: argv['allow-missing'],
    mediaPattern: argv['media-pattern'],
    choices: argv.choices,
    task: argv.task,
    allTurns: argv['all-turns'],
  });
  console.log(formatSummary(summary));
}

export const datasetCommand: CommandModule<object, object> = {
  command: 'dataset <command>',
  describe: 'Dataset tools: import benchmark annotations as kvprism JSONL',
  builder: (y: Argv) => y.command(importCommand).demandCommand(1, 'name a dataset command (import)'),
  handler: () => undefined,
};
