/**
 * `npm run bench -- sweep [--samples N] [--config FILE] [--threads N] [--out DIR]`: the
 * quickstart sweep run twice in one process, with shared prefill (one prefill per sample,
 * forked per trial, sample-major) and without (every trial prefills every sample itself).
 * Prints both wall times, their ratio, and whether the two runs recorded identical rows:
 * same trial ids and every metric equal to the last digit (timings, RSS peaks and finishing
 * times excepted, which no two runs share).
 *
 * --samples overrides the config's sample count (the full quickstart is 36 samples; a reduced
 * count keeps the run short on a busy machine: say which you ran when you quote the ratio).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ResultRow } from '../src/runner/result-row.js';
import { runExperiment, type RunSummary } from '../src/runner/run-experiment.js';
import { fmt, ratio } from './_timing.js';

const TIMING_FIELDS = new Set(['wall_ms', 'prefill_ms', 'compression_ms', 'decode_ms_per_token', 'decode_ms_median', 'finished_at', 'peak_rss_bytes']);

/** A row without the fields that differ between any two runs, as comparable text. */
function deterministic(r: ResultRow): string {
  return JSON.stringify(Object.fromEntries(Object.entries(r).filter(([k]) => !TIMING_FIELDS.has(k))));
}

/** Trial ids whose rows differ (or exist in one run only). */
function differingRows(a: ResultRow[], b: ResultRow[]): string[] {
  const other = new Map(b.map((r) => [r.trial_id, deterministic(r)]));
  const ids = new Set([...a.map((r) => r.trial_id), ...b.map((r) => r.trial_id)]);
  const mine = new Map(a.map((r) => [r.trial_id, deterministic(r)]));
  return [...ids].filter((id) => mine.get(id) === undefined || mine.get(id) !== other.get(id));
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      samples: { type: 'string' },
      config: { type: 'string', default: join(dirname(fileURLToPath(import.meta.url)), '..', 'configs', 'quickstart.yaml') },
      threads: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const overrides = [...(values.samples ? [`samples=${values.samples}`] : []), ...(values.threads ? [`threads=${values.threads}`] : [])];
  const out = values.out ?? mkdtempSync(join(tmpdir(), 'kvprism-bench-sweep-'));
  const run = async (shared: boolean): Promise<{ summary: RunSummary; ms: number; cpuMs: number }> => {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const summary = await runExperiment({ configFile: values.config, overrides, out: join(out, shared ? 'shared' : 'own'), sharedPrefill: shared, live: false, log: () => {} });
    const c = process.cpuUsage(c0);
    return { summary, ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 };
  };
  console.log(`sweep: ${values.config}${overrides.length ? ` with ${overrides.join(' ')}` : ''}; results under ${out}`);
  const shared = await run(true);
  const own = await run(false);
  const s = shared.summary;
  const samples = s.rows[0]?.samples ?? 0;
  console.log(`trials ${s.trials.length} × samples ${samples}`);
  console.log(`shared prefill  wall ${fmt(shared.ms / 1000, 1)} s  CPU ${fmt(shared.cpuMs / 1000, 1)} s  (failed ${s.failed.length})`);
  console.log(`own prefills    wall ${fmt(own.ms / 1000, 1)} s  CPU ${fmt(own.cpuMs / 1000, 1)} s  (failed ${own.summary.failed.length})`);
  // CPU time is the steadier figure on a shared machine; wall time is what a user waits.
  console.log(`speed-up        wall ${fmt(ratio(own.ms, shared.ms), 2)}×  CPU ${fmt(ratio(own.cpuMs, shared.cpuMs), 2)}×`);
  const diff = differingRows(s.rows, own.summary.rows);
  console.log(diff.length === 0 ? `rows identical: yes (${s.rows.length} rows, every field but timings)` : `rows identical: NO — ${diff.length} trials differ: ${diff.slice(0, 5).join(', ')}`);
  if (diff.length > 0 || s.failed.length > 0 || own.summary.failed.length > 0) process.exitCode = 1;
}
