/**
 * `npx tsx experiments/storage-x-policy/tables.ts [DIR]`: from a run of
 * configs/storage-x-policy.yaml (default: this folder's results/), prints Markdown:
 * 1. every (policy, budget, storage): accuracy with n, the K/V bytes kept (KiB per sample, and
 *    × the f32 full cache's), and KL to the full cache of the same storage;
 * 2. paired bootstrap intervals (kvprism compare, 10,000 resamples, seed 0) of each quantized
 *    storage's accuracy minus f32's under the same policy and budget;
 * 3. quantize or evict: each quantized storage at 20 % against f32 at 10 % under the same policy,
 *    with both sides' bytes (× the f32 full cache's; KIVI's f32 residual can make the 20 % side larger).
 * A difference whose interval includes zero is a tie.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareRuns } from '../../src/runner/report/compare.js';
import type { ResultRow } from '../../src/runner/result-row.js';
import { readResults } from '../../src/runner/results-store.js';

const dir = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), 'results');
const rows = readResults(dir);
const storages = [...new Set(rows.map((r) => r.storage ?? 'unrecorded'))];
const quantized = storages.filter((s) => s !== 'f32');
const policies = [...new Set(rows.map((r) => r.label))];
const budgetsOf = (label: string) => [...new Set(rows.filter((r) => r.label === label).map((r) => r.budget))];
const find = (label: string, budget: string, storage: string): ResultRow | undefined => rows.find((r) => r.label === label && r.budget === budget && r.storage === storage);
const fullF32 = find('full cache', 'full', 'f32');
const cell = (x: number | null | undefined, digits: number): string => (x === null || x === undefined ? '—' : x.toFixed(digits));
const kib = (r: ResultRow | undefined): string => cell(r?.kv_bytes === null || r?.kv_bytes === undefined ? null : r.kv_bytes / 1024, 1);
const share = (r: ResultRow | undefined): string => cell(r?.kv_bytes && fullF32?.kv_bytes ? r.kv_bytes / fullF32.kv_bytes : null, 3);
const pick = (r: ResultRow): string => `${r.label}@${r.budget}@${r.protocol ?? 'query-aware'}@${r.storage}`;
const signed = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(3)}`;

const out: string[] = [];
out.push(`### Accuracy and bytes (n = ${fullF32?.samples ?? '?'} samples per row; KiB: K/V bytes kept per sample after compression)`, '');
out.push('| policy | budget | storage | accuracy | KiB | × f32 full | KL vs own full |', '|---|---|---|---:|---:|---:|---:|');
for (const label of policies) {
  for (const budget of budgetsOf(label)) {
    for (const storage of storages) {
      const r = find(label, budget, storage);
      if (r) out.push(`| ${label} | ${budget} | ${storage} | ${cell(r.accuracy, 3)} | ${kib(r)} | ${share(r)} | ${cell(r.kl, 3)} |`);
    }
  }
}

/** One line per pair: accuracy of B − A with its paired interval and verdict. */
function comparisonLines(pairs: [ResultRow, ResultRow][], describe: (a: ResultRow, b: ResultRow) => string): string[] {
  return pairs.map(([a, b]) => {
    const [c] = compareRuns(dir, dir, { a: pick(a), b: pick(b) });
    const acc = c!.metrics.find((m) => m.metric === 'accuracy')!;
    return `| ${describe(a, b)} | ${c!.n} | ${cell(acc.meanA, 3)} | ${cell(acc.meanB, 3)} | ${signed(acc.diff.mean)} | [${signed(acc.diff.lo)}, ${signed(acc.diff.hi)}] | ${acc.verdict === 'tie' ? 'tie' : acc.verdict} |`;
  });
}

out.push('', '### Each storage against f32, same policy and budget (accuracy, B − A, paired 95 % bootstrap interval)', '');
out.push('| policy@budget: A → B | n | acc A | acc B | B − A | 95 % CI | verdict |', '|---|---:|---:|---:|---:|---|---|');
const sameBudget: [ResultRow, ResultRow][] = [];
for (const label of policies) {
  for (const budget of budgetsOf(label)) {
    const a = find(label, budget, 'f32');
    for (const s of quantized) {
      const b = find(label, budget, s);
      if (a && b) sameBudget.push([a, b]);
    }
  }
}
out.push(...comparisonLines(sameBudget, (a, b) => `${a.label}@${a.budget}: f32 → ${b.storage}`));

out.push('', '### Quantize or evict: each storage at 20 % against f32 at 10 %, same policy (bytes: × f32 full)', '');
out.push('| policy: A → B | n | acc A | acc B | B − A | 95 % CI | verdict |', '|---|---:|---:|---:|---:|---|---|');
const atFewerBytes: [ResultRow, ResultRow][] = [];
for (const label of policies.filter((l) => l !== 'full cache')) {
  const a = find(label, '10%', 'f32');
  for (const s of quantized) {
    const b = find(label, '20%', s);
    if (a && b) atFewerBytes.push([a, b]);
  }
}
out.push(...comparisonLines(atFewerBytes, (a, b) => `${a.label}: f32@10% (${share(a)}) → ${b.storage}@20% (${share(b)})`));
process.stdout.write(`${out.join('\n')}\n`);
