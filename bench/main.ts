/**
 * `npm run bench -- NAME [flags]`: runs bench/NAME.ts. Every benchmark prints ratios measured
 * side by side in one run (ours vs a reference vs the machine's limits), never pass/fail.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'main.ts' && !f.startsWith('_'))
  .map((f) => f.replace(/\.ts$/, ''));
const name = process.argv[2];
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|')}> [flags]`);
  process.exit(name ? 1 : 0);
}
const mod = (await import(join(here, `${name}.ts`))) as { main(argv: string[]): Promise<void> };
await mod.main(process.argv.slice(3));
