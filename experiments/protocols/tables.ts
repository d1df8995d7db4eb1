/**
 * `npx tsx experiments/protocols/tables.ts [DIR]`: per protocol, accuracy and KL of each policy
 * at each budget, and the K/V peak during the prefill vs after it, from a run of
 * configs/protocols.yaml (default: this folder's committed run). Prints Markdown.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResultRow } from '../../src/runner/result-row.js';
import { readResults } from '../../src/runner/results-store.js';

const dir = process.argv[2] ?? dirname(fileURLToPath(import.meta.url));
const rows = readResults(dir);
const protocols = [...new Set(rows.map((r) => r.protocol ?? 'query-aware'))];
const budgets = [...new Set(rows.filter((r) => r.budget !== 'full').map((r) => r.budget))];
const policies = [...new Set(rows.filter((r) => r.policy !== 'full').map((r) => r.label))];
const cell = (x: number | null | undefined, digits: number): string => (x === null || x === undefined ? '—' : x.toFixed(digits));
const out: string[] = [];
for (const p of protocols) {
  const of = rows.filter((r) => (r.protocol ?? 'query-aware') === p);
  const full = of.find((r) => r.policy === 'full');
  out.push(`### ${p} (full cache: accuracy ${cell(full?.accuracy, 3)}, n = ${full?.samples ?? '?'})`, '');
  out.push(`| policy | ${budgets.map((b) => `acc ${b}`).join(' | ')} | ${budgets.map((b) => `KL ${b}`).join(' | ')} |`);
  out.push(`|---|${budgets.map(() => '---:').join('|')}|${budgets.map(() => '---:').join('|')}|`);
  for (const label of policies) {
    const at = (b: string) => of.find((r) => r.label === label && r.budget === b);
    out.push(`| ${label} | ${budgets.map((b) => cell(at(b)?.accuracy, 3)).join(' | ')} | ${budgets.map((b) => cell(at(b)?.kl, 3)).join(' | ')} |`);
  }
  out.push('');
}
out.push('### K/V bytes during and after the prefill (KiB, mean over samples; one policy per protocol, all policies alike)', '');
out.push(`| protocol | ${budgets.map((b) => `peak ${b}`).join(' | ')} | ${budgets.map((b) => `kept ${b}`).join(' | ')} |`);
out.push(`|---|${budgets.map(() => '---:').join('|')}|${budgets.map(() => '---:').join('|')}|`);
for (const p of protocols) {
  const at = (b: string) => rows.find((r) => (r.protocol ?? 'query-aware') === p && r.policy === 'h2o' && r.budget === b);
  const kib = (x: number | null | undefined) => cell(x === null || x === undefined ? x : x / 1024, 1);
  out.push(`| ${p} (h2o) | ${budgets.map((b) => kib(at(b)?.kv_peak_bytes)).join(' | ')} | ${budgets.map((b) => kib(at(b)?.kv_bytes)).join(' | ')} |`);
}
process.stdout.write(`${out.join('\n')}\n`);
