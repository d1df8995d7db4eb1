/** kvprism command line: one yargs command module per file in ./commands. */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commands } from './commands/index.js';

const cli = yargs(hideBin(process.argv))
  .scriptName('kvprism')
  .strict()
  .demandCommand(1, 'name a command (see --help)')
  .recommendCommands()
  .help()
  .fail((msg, err) => {
    console.error(err ? `kvprism: ${err.message}` : `kvprism: ${msg} (see kvprism --help)`);
    process.exit(1);
  });
for (const c of commands) cli.command(c);
await cli.parseAsync();
