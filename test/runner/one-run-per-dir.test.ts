/**
 * Must-show of issue 17 part 9, as a user meets it: a run is started as a child process, a
 * second run on the same --out is refused (naming the first), the first's whole process group
 * is killed with SIGKILL, and a resume leaves exactly the clean run's rows and predictions.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { readPredictions } from '../../src/runner/predictions-store.js';
import { compareRuns } from '../../src/runner/report/compare.js';
import type { ResultRow } from '../../src/runner/result-row.js';
import { RESULTS_JSONL, parseResultsJsonl, readResults } from '../../src/runner/results-store.js';
import { runExperiment, type RunSummary } from '../../src/runner/run-experiment.js';
import { RUN_LOCK } from '../../src/runner/run-lock.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/kvprism.js');
const modelDir = fileURLToPath(new URL('../../../shared/models/stories260K', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'kvprism-onerun-'));
const config = join(work, 'stories.yaml');
// 14 trials of 20 samples: long enough (≈ 15 s idle) that the second run, whose own start takes
// seconds, meets a live first.
// Per-trial prefills (sharedPrefill: false) commit rows one trial at a time, so a kill lands
// between rows; shared prefill commits a sample-major group's rows together at its end.
writeFileSync(
  config,
  `name: one-run
model: ${modelDir}
dataset: { kind: jsonl, path: ${join(root, 'datasets/samples/tiny-stories-qa.jsonl')} }
samples: 20
decodeTokens: 2
backend: ts
seeds: [0, 1]
policies: [full, streaming-llm, h2o, snapkv]
budgets: ['20%', '50%']
sharedPrefill: false
`,
);
const TRIALS = 2 * (1 + 3 * 2);
const SAMPLES = 20;

const deterministic = ({ trial_id, label, budget, seed, accuracy, kl, top1_agreement, total_bytes, families }: ResultRow) => ({ trial_id, label, budget, seed, accuracy, kl, top1_agreement, total_bytes, families });
const byId = (rows: ResultRow[]) => [...rows].sort((a, b) => a.trial_id.localeCompare(b.trial_id)).map(deterministic);
const predictionKeys = (dir: string) => readPredictions(dir).map((p) => `${p.trial_id}/${p.sample_id}/${p.choice}/${p.answer_logprob}`).sort();
const devNull = new Writable({ write: (_c, _e, done) => done() }) as unknown as NodeJS.WriteStream;

let clean: RunSummary;
beforeAll(async () => {
  clean = await runExperiment({ configFile: config, out: join(work, 'clean'), live: false, log: () => {}, progressStream: devNull });
});

describe('one live run per output directory', () => {
  it('refuses a second run, survives SIGKILL of the first, and resumes to the clean rows', async () => {
    const out = join(work, 'shared-out');
    const first = spawn(process.execPath, [bin, 'run', config, '--out', out, '--no-report'], { stdio: 'ignore', detached: true });
    const file = join(out, RESULTS_JSONL);
    const rowsNow = () => (existsSync(file) ? readFileSync(file).filter((b) => b === 0x0a).length : 0);
    while (rowsNow() < 1) {
      if (first.exitCode !== null) throw new Error(`the first run exited (${first.exitCode}) before it wrote a row`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const second = spawnSync(process.execPath, [bin, 'run', config, '--out', out, '--resume', '--no-report'], { encoding: 'utf8' });
    expect(first.exitCode).toBe(null); // the first was still running when the second was refused
    expect(second.status).toBe(1);
    expect(second.stderr).toContain(`${join(out, RUN_LOCK)}: another run is writing to this directory (PID ${first.pid} on ${hostname()}, started `);
    expect(second.stderr).toContain(`${bin} run ${config} --out ${out} --no-report`);
    expect(second.stderr).not.toMatch(/\n\s+at /);

    process.kill(-first.pid!, 'SIGKILL'); // the whole process group, as a dying job scheduler would
    await new Promise((r) => (first.exitCode === null && first.signalCode === null ? first.once('exit', r) : r(null)));
    expect(first.signalCode).toBe('SIGKILL');
    const atKill = parseResultsJsonl(readFileSync(file));
    expect(atKill.rows.length).toBeLessThan(TRIALS); // the kill really interrupted the run
    expect(existsSync(join(out, RUN_LOCK))).toBe(true); // SIGKILL leaves the lock behind

    const notices: string[] = [];
    const resumed = await runExperiment({ configFile: config, out, resume: true, live: false, log: (l) => notices.push(l), progressStream: devNull });
    expect(notices.join('\n')).toMatch(new RegExp(`took over .*run\\.lock from a run that is gone \\(PID ${first.pid} on `));
    expect(resumed.skipped).toBe(atKill.rows.length);
    const rows = readResults(out);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(TRIALS); // no duplicated line
    expect(byId(rows)).toEqual(byId(clean.rows));
    expect(predictionKeys(out)).toHaveLength(TRIALS * SAMPLES);
    expect(predictionKeys(out)).toEqual(predictionKeys(clean.dir));
    expect(readFileSync(join(out, 'predictions.jsonl'), 'utf8').trim().split('\n')).toHaveLength(TRIALS * SAMPLES);
    expect(existsSync(join(out, RUN_LOCK))).toBe(false); // released at the end of the resumed run
    // Per sample, the resumed run answers exactly as the clean one: every paired difference is 0.
    const pairs = compareRuns(clean.dir, out, { resamples: 200 });
    expect(pairs).toHaveLength(TRIALS);
    for (const p of pairs) {
      expect(p.n).toBe(SAMPLES);
      for (const m of p.metrics) expect([m.diff.lo, m.diff.hi, m.verdict]).toEqual([0, 0, 'tie']);
    }
  });

  it('predictions.jsonl holds one line per sample and trial, agreeing with the trial rows', () => {
    const lines = readPredictions(clean.dir);
    expect(lines).toHaveLength(TRIALS * SAMPLES);
    for (const row of clean.rows) {
      const mine = lines.filter((p) => p.trial_id === row.trial_id);
      expect(mine.map((p) => p.sample_id)).toEqual(Array.from({ length: SAMPLES }, (_, i) => `ts-${String(i + 1).padStart(2, '0')}`));
      expect(mine.filter((p) => p.correct).length / SAMPLES).toBeCloseTo(row.accuracy!, 12);
      expect(mine.reduce((a, p) => a + p.kl!, 0) / SAMPLES).toBeCloseTo(row.kl!, 12);
      expect(mine.reduce((a, p) => a + p.total_bytes!, 0) / SAMPLES).toBeCloseTo(row.total_bytes!, 6);
      for (const p of mine) {
        expect(p.correct).toBe(p.choice === p.answer);
        expect(p.answer_logprob).toBeLessThanOrEqual(0);
        expect(p.label).toBe(row.label);
        if (row.policy === 'full') expect(p.kl).toBe(0);
      }
    }
  });
});
