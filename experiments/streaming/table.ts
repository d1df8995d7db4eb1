/**
 * `npx tsx experiments/streaming/table.ts [DIR]`: per policy and budget of a streaming run
 * (default: this folder's committed run of configs/streaming-long.yaml) — accuracy, KL to the
 * streamed full cache, K/V peak during the stream and K/V kept after it, prefill and decode
 * time. Prints Markdown.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResultRow } from '../../src/runner/result-row.js';
import { readResults } from '../../src/runner/results-store.js';

const dir = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), 'results');
const rows = readResults(dir);
const f = (x: number | null | undefined, digits: number): string => (x === null || x === undefined ? '—' : x.toFixed(digits));
const kib = (x: number | null | undefined): string => f(x === null || x === undefined ? x : x / 1024, 1);
const out = [
  `${rows[0]?.samples ?? '?'} samples per trial, protocol ${rows[0]?.protocol ?? '?'}, ${rows[0]?.dataset ?? '?'}; K/V in KiB (mean over samples); times in ms (mean per sample; decode per token).`,
  '',
  '| policy | budget | accuracy | KL | K/V peak | K/V kept | peak ÷ kept | prefill ms | compression ms | decode ms/token |',
  '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
];
for (const r of rows) {
  const ratio = r.kv_peak_bytes && r.kv_bytes ? r.kv_peak_bytes / r.kv_bytes : null;
  out.push(`| ${r.label} | ${r.budget} | ${f(r.accuracy, 3)} | ${f(r.kl, 3)} | ${kib(r.kv_peak_bytes)} | ${kib(r.kv_bytes)} | ${f(ratio, 3)} | ${f(r.prefill_ms, 0)} | ${f(r.compression_ms, 0)} | ${f(r.decode_ms_per_token, 2)} |`);
}
process.stdout.write(`${out.join('\n')}\n`);
