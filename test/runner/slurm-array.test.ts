/**
 * docs/scale.md's Slurm recipe, actually run: a one-node Slurm cluster started here runs the
 * quickstart (its config with a reduced sample count, samples=3) as a 3-task job array through
 * scripts/slurm-array.sh, merges the shards with the documented dependent job, and the merged
 * rows must equal an unsharded run's. Skips, saying why, where Slurm cannot run (not installed,
 * not root, a daemon that will not start).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ResultRow } from '../../src/runner/result-row.js';
import { readResults } from '../../src/runner/results-store.js';
import { runExperiment } from '../../src/runner/run-experiment.js';
import { expectCsvMatchesJsonl } from './csv-consistency.js';
import { startSlurmCluster } from './slurm-cluster.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const script = 'scripts/slurm-array.sh';
const config = 'configs/quickstart.yaml';
const work = mkdtempSync(join(tmpdir(), 'kvprism-slurm-array-'));

/** docs/scale.md's submission: one array task per shard, N shards of CONFIG into OUT. */
const arraySubmit = (shards: number, out: string) => ['--parsable', `--array=0-${shards - 1}`, script, config, String(shards), out];
/** docs/scale.md's merge, run by a job that waits for the array. */
const mergeCommand = (out: string) => `node bin/kvprism.js report ${out}/shard-* --out ${out}/merged`;
/** The quickstart, smaller: CI has two cores. The same overrides go to the shards and the unsharded run. */
const REDUCED = ['samples=3'];
const SHARDS = 3;
const TASKS = Array.from({ length: SHARDS }, (_, i) => i);
/** Fields that depend on the machine's load or the process, not on the trial. */
const MACHINE_DEPENDENT = new Set(['peak_rss_bytes', 'prefill_ms', 'compression_ms', 'decode_ms_per_token', 'decode_ms_median', 'wall_ms', 'shard', 'finished_at']);
const measured = (rows: ResultRow[]) =>
  [...rows].sort((a, b) => a.trial_id.localeCompare(b.trial_id)).map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !MACHINE_DEPENDENT.has(k))));
const devNull = new Writable({ write: (_c, _e, done) => done() }) as unknown as NodeJS.WriteStream;

/** Runs the script as Slurm would for array task `task` (or outside any array when undefined). */
function runScript(args: string[], task: string | undefined) {
  const env: NodeJS.ProcessEnv = { ...process.env, SLURM_SUBMIT_DIR: root };
  delete env.SLURM_ARRAY_TASK_ID;
  if (task !== undefined) env.SLURM_ARRAY_TASK_ID = task;
  return spawnSync('bash', [join(root, script), ...args], { cwd: root, env, encoding: 'utf8' });
}

describe('scripts/slurm-array.sh', () => {
  it('is what docs/scale.md tells users to submit, with the merge this test runs', () => {
    const docs = readFileSync(join(root, 'docs/scale.md'), 'utf8');
    expect(docs).toContain(`ARRAY_JOB_ID=$(sbatch ${arraySubmit(16, 'results/quickstart').join(' ')})`);
    expect(docs).toContain('--dependency=afterok:$ARRAY_JOB_ID');
    expect(docs).toContain(`--wrap '${mergeCommand('results/quickstart')}'`);
  });

  it('refuses an array task that does not fit N, bad N, missing arguments, and a run outside an array', () => {
    const out = join(work, 'refused');
    const misfit = runScript([config, '3', out], '3');
    expect(misfit.status).toBe(2);
    expect(misfit.stderr).toContain('array task 3 does not fit N=3 shards');
    const badN = runScript([config, 'three', out], '0');
    expect(badN.status).toBe(2);
    expect(badN.stderr).toContain('N=three');
    const noOut = runScript([config, '3'], '0');
    expect(noOut.status).not.toBe(0);
    expect(noOut.stderr).toContain('usage: sbatch --array=0-<N-1> scripts/slurm-array.sh CONFIG N OUT');
    const noArray = runScript([config, '3', out], undefined);
    expect(noArray.status).not.toBe(0);
    expect(noArray.stderr).toContain('not a Slurm array task');
    expect(existsSync(out)).toBe(false);
  });

  it('runs the quickstart as a 3-shard job array on a one-node cluster; merged rows equal the unsharded run', { timeout: 300_000 }, async (ctx) => {
    const start = await startSlurmCluster();
    if ('unavailable' in start) {
      console.warn(`slurm-array.test.ts: skipped: ${start.unavailable}`);
      return ctx.skip(start.unavailable.split('\n')[0]);
    }
    const { cluster } = start;
    try {
      const out = join(work, 'quickstart');
      const logs = join(work, 'logs');
      mkdirSync(logs);
      // The documented submission; the resource lines fit a 2-core machine, logs go to tmp.
      const fit = ['--cpus-per-task=1', '--mem=1G', `--output=${logs}/%x-%A_%a.out`];
      const sets = REDUCED.flatMap((s) => ['--set', s]);
      const arrayId = cluster.client('sbatch', [...fit, ...arraySubmit(SHARDS, out), ...sets], root).trim().split(';')[0]!;
      const mergeId = cluster.client('sbatch', ['--parsable', `--dependency=afterok:${arrayId}`, `--output=${logs}/merge-%j.out`, '--wrap', mergeCommand(out)], root).trim().split(';')[0]!;

      // The unsharded run meanwhile, with what the script sets for a 1-CPU task (threads=1).
      const quiet = { live: false, log: () => {}, progressStream: devNull };
      const unsharded = await runExperiment({ configFile: join(root, config), overrides: [...REDUCED, 'threads=1'], out: join(work, 'unsharded'), ...quiet });

      const states = await cluster.waitForJobs([arrayId, mergeId], 240_000);
      const jobLogs = () => spawnSync('tail', ['-n', '5', ...TASKS.map((i) => `${logs}/kvprism-sweep-${arrayId}_${i}.out`), `${logs}/merge-${mergeId}.out`], { encoding: 'utf8' }).stdout;
      expect(states.map((s) => `${s.id} ${s.state} ${s.exitCode}`).sort(), jobLogs()).toEqual([
        ...TASKS.map((i) => `${arrayId}_${i} COMPLETED 0:0`),
        `${mergeId} COMPLETED 0:0`,
      ]);

      expect(unsharded.failed).toEqual([]);
      expect(unsharded.rows).toHaveLength(unsharded.trials.length);
      expect(unsharded.rows.length).toBeGreaterThan(SHARDS);
      for (const i of TASKS) {
        const rows = readResults(join(out, `shard-${i}`));
        expect(rows.map((r) => r.trial_index).sort((a, b) => a - b)).toEqual(unsharded.trials.map((t) => t.index).filter((t) => t % SHARDS === i).sort((a, b) => a - b));
        expect(new Set(rows.map((r) => r.shard))).toEqual(new Set([`${i}/${SHARDS}`]));
        expect(rows.every((r) => r.threads === 1 && r.samples === 3)).toBe(true);
      }
      const merged = readResults(join(out, 'merged'));
      expect(merged.map((r) => r.trial_id).sort()).toEqual(unsharded.rows.map((r) => r.trial_id).sort());
      expect(measured(merged)).toEqual(measured(unsharded.rows));
      expectCsvMatchesJsonl(join(out, 'merged'));
      expect(readFileSync(join(out, 'merged', 'report.md'), 'utf8')).toContain('| full cache |');
    } finally {
      await cluster.stop();
    }
  });
});
