/** `kvprism schema`: the experiment config's JSON Schema (from the zod schema), or the policies. */
import type { CommandModule } from 'yargs';
import { z } from 'zod';
import { policies } from '../../policies/catalog.js';
import { experimentJsonSchema } from '../../runner/config-schema.js';

interface SchemaArgs {
  policies: boolean;
}

export const schemaCommand: CommandModule<object, SchemaArgs> = {
  command: 'schema',
  describe: 'Print the JSON Schema of experiment configs (or, with --policies, every policy\'s options)',
  builder: (y) => y.option('policies', { type: 'boolean', default: false, describe: 'Print each registered policy\'s options schema instead' }),
  handler: (argv) => {
    const out = argv.policies
      ? Object.fromEntries(
          policies.list().map((d) => [d.name, { title: d.title, kind: d.kind, summary: d.summary, paper: d.paper, options: z.toJSONSchema(d.options, { io: 'input', unrepresentable: 'any' }) }]),
        )
      : experimentJsonSchema();
    console.log(JSON.stringify(out, null, 2));
  },
};
