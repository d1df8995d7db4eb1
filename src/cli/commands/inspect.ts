/** `kvprism inspect DIR`: architecture, parameters, KV bytes per token, layers, heads. */
import type { CommandModule } from 'yargs';
import { describeModel, formatDescription } from '../../model/describe.js';

interface InspectArgs {
  dir: string;
  json: boolean;
}

export const inspectCommand: CommandModule<object, InspectArgs> = {
  command: 'inspect <dir>',
  describe: 'Describe a HF model folder (reads config and safetensors headers only)',
  builder: (y) =>
    y
      .positional('dir', { type: 'string', demandOption: true, describe: 'HF model folder' })
      .option('json', { type: 'boolean', default: false, describe: 'Print JSON instead of text' }),
  handler: (argv) => {
    const d = describeModel(argv.dir);
    console.log(argv.json ? JSON.stringify(d, null, 2) : formatDescription(d));
  },
};
