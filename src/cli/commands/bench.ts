/**
 * `kvprism bench <name> [--json] [flags]`: runs bench/<name>.ts's main(argv), the same code as
 * `npm run bench -- <name>`. Benchmarks print ratios measured side by side; they never fail on speed.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CommandModule } from 'yargs';

interface BenchArgs {
  name: string;
  json: boolean;
  rest: string[];
}

/** The repository's bench/ folder (the CLI runs from src/ through tsx). */
function benchDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bench');
}

export function availableBenches(): string[] {
  const dir = benchDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && f !== 'main.ts' && !f.startsWith('_'))
    .map((f) => f.replace(/\.ts$/, ''))
    .sort();
}

export const benchCommand: CommandModule<object, BenchArgs> = {
  command: 'bench <name> [rest..]',
  describe: 'Run a benchmark from bench/ (e.g. `kernels`); prints ratios, --json for machine-readable output',
  builder: (y) =>
    y
      .positional('name', { type: 'string', demandOption: true, describe: 'benchmark name (a file in bench/)' })
      .positional('rest', { type: 'string', array: true, default: [], describe: 'flags passed to the benchmark (e.g. --threads 2 --quick)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the results as JSON' })
      .parserConfiguration({ 'unknown-options-as-args': true }),
  handler: async (argv) => {
    const names = availableBenches();
    if (!names.includes(argv.name)) {
      throw new Error(names.length ? `bench: unknown benchmark '${argv.name}'; available: ${names.join(', ')}` : `bench: no bench/ folder next to this installation (${benchDir()})`);
    }
    const mod = (await import(pathToFileURL(join(benchDir(), `${argv.name}.ts`)).href)) as { main(a: string[]): Promise<void> };
    await mod.main([...(argv.json ? ['--json'] : []), ...argv.rest.map(String)]);
  },
};
