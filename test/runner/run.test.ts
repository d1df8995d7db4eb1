/**
 * End to end on the real stories260K checkpoint and the bundled JSONL dataset: a run killed
 * with SIGKILL and resumed, shards merged, CSV against JSONL, and the report's files.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeReport } from '../../src/runner/report/report.js';
import { markdownTable, REPORT_METRICS } from '../../src/runner/report/tables.js';
import type { ResultRow } from '../../src/runner/result-row.js';
import { RESULTS_JSONL, parseResultsJsonl, readResults } from '../../src/runner/results-store.js';
import { runExperiment, type RunSummary } from '../../src/runner/run-experiment.js';
import { expectCsvMatchesJsonl } from './csv-consistency.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const modelDir = fileURLToPath(new URL('../../../shared/models/stories260K', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'kvprism-run-'));
const config = join(work, 'stories.yaml');
writeFileSync(
  config,
  `name: stories
model: ${modelDir}
dataset: { kind: jsonl, path: ${join(root, 'datasets/samples/tiny-stories-qa.jsonl')} }
samples: 3
decodeTokens: 2
backend: ts
policies: [full, streaming-llm, h2o, { name: snapkv, options: { window: [4, 8] } }]
budgets: ['20%', '50%']
metrics: [accuracy, fidelity, memory, latency, attention-mass]
`,
);
const TRIALS = 1 + 4 * 2;
// The same sweep on per-trial prefills: rows land one trial at a time, so a kill falls between
// rows. (Shared prefill commits a sample-major group's rows together when the group ends.)
const perTrialConfig = join(work, 'stories-per-trial.yaml');
writeFileSync(perTrialConfig, `${readFileSync(config, 'utf8')}sharedPrefill: false\n`);

/** The fields a rerun must reproduce exactly (everything but timings, memory peaks, shard). */
function deterministic(r: ResultRow) {
  const { trial_id, trial_index, label, policy, options, budget, seed, accuracy, kl, top1_agreement, prompt_tokens, logical_tokens, slots, kv_bytes, meta_bytes, retention_bytes, total_bytes, families, modality_mass } = r;
  return { trial_id, trial_index, label, policy, options, budget, seed, accuracy, kl, top1_agreement, prompt_tokens, logical_tokens, slots, kv_bytes, meta_bytes, retention_bytes, total_bytes, families, modality_mass };
}
const byId = (rows: ResultRow[]) => [...rows].sort((a, b) => a.trial_id.localeCompare(b.trial_id)).map(deterministic);
const devNull = new Writable({ write: (_c, _e, done) => done() }) as unknown as NodeJS.WriteStream;
const quiet = { live: false, log: () => {}, progressStream: devNull };

let clean: RunSummary;
beforeAll(async () => {
  clean = await runExperiment({ configFile: config, out: join(work, 'clean'), ...quiet });
});

describe('kvprism run on stories260K', () => {
  it('records one row per trial with every metric, CSV mirroring JSONL', () => {
    expect(clean.ran).toBe(TRIALS);
    expect(clean.rows).toHaveLength(TRIALS);
    const full = clean.rows.find((r) => r.policy === 'full')!;
    expect(full.kl).toBe(0);
    expect(full.top1_agreement).toBe(1);
    for (const r of clean.rows) {
      expect(r.accuracy).toBeGreaterThanOrEqual(0);
      expect(r.decode_ms_per_token).toBeGreaterThan(0);
      expect(r.prefill_ms).toBeGreaterThan(0);
      expect(r.peak_rss_bytes).toBeGreaterThan(1e6);
      expect(r.modality_mass).toHaveLength(5);
      if (r.policy !== 'full') {
        // A compressed cache is physically smaller and disagrees somewhat with the full one.
        expect(r.total_bytes!).toBeLessThan(full.total_bytes!);
        expect(r.logical_tokens!).toBeLessThan(full.logical_tokens!);
        expect(r.kl!).toBeGreaterThanOrEqual(0);
      }
    }
    const at20 = clean.rows.find((r) => r.policy === 'h2o' && r.budget === '20%')!;
    const at50 = clean.rows.find((r) => r.policy === 'h2o' && r.budget === '50%')!;
    expect(at20.total_bytes!).toBeLessThan(at50.total_bytes!);
    expectCsvMatchesJsonl(clean.dir);
    for (const f of ['config.resolved.yaml', 'run_meta.json', 'reference.jsonl']) expect(existsSync(join(clean.dir, f)), f).toBe(true);
    const meta = JSON.parse(readFileSync(join(clean.dir, 'run_meta.json'), 'utf8'));
    expect(meta.backend).toBe('ts');
    expect(meta.cpu.cores).toBeGreaterThan(0);
  });

  it('a run killed with SIGKILL mid-run and resumed loses no row and duplicates none', async () => {
    const out = join(work, 'killed');
    const child = spawn(process.execPath, [join(root, 'bin/kvprism.js'), 'run', perTrialConfig, '--out', out, '--no-report'], { stdio: 'ignore' });
    const file = join(out, RESULTS_JSONL);
    const rowsNow = () => (existsSync(file) ? readFileSync(file).filter((b) => b === 0x0a).length : 0);
    // Kill at a moment inside a later trial (after two committed rows, plus a random delay).
    while (rowsNow() < 2) {
      if (child.exitCode !== null) throw new Error(`the run exited (${child.exitCode}) before it could be killed`);
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, Math.random() * 150));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const atKill = parseResultsJsonl(readFileSync(file));
    expect(atKill.rows.length).toBeLessThan(TRIALS); // the kill really interrupted the run
    const resumed = await runExperiment({ configFile: perTrialConfig, out, resume: true, ...quiet });
    expect(resumed.skipped).toBe(atKill.rows.length);
    expect(resumed.ran).toBe(TRIALS - atKill.rows.length);
    const rows = readResults(out);
    expect(new Set(rows.map((r) => r.trial_id)).size).toBe(rows.length);
    expect(byId(rows)).toEqual(byId(clean.rows));
    expect(readFileSync(file, 'utf8').endsWith('\n')).toBe(true);
    expectCsvMatchesJsonl(out);
    // Resuming a finished run does nothing.
    const again = await runExperiment({ configFile: perTrialConfig, out, resume: true, ...quiet });
    expect(again.ran).toBe(0);
    expect(readResults(out)).toHaveLength(TRIALS);
  });

  it('a shared-prefill run killed early and resumed ends with the clean rows, none twice', async () => {
    const out = join(work, 'killed-shared');
    const child = spawn(process.execPath, [join(root, 'bin/kvprism.js'), 'run', config, '--out', out, '--no-report'], { stdio: 'ignore' });
    // Kill once the run holds its directory (its lock), before the first group can finish.
    while (!existsSync(join(out, 'run.lock'))) {
      if (child.exitCode !== null) throw new Error(`the run exited (${child.exitCode}) before it could be killed`);
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const file = join(out, RESULTS_JSONL);
    const before = existsSync(file) ? parseResultsJsonl(readFileSync(file)).rows.length : 0;
    const resumed = await runExperiment({ configFile: config, out, resume: true, ...quiet });
    expect(resumed.skipped + resumed.ran).toBe(TRIALS);
    expect(resumed.skipped).toBe(before);
    const rows = readResults(out);
    expect(new Set(rows.map((r) => r.trial_id)).size).toBe(TRIALS);
    expect(byId(rows)).toEqual(byId(clean.rows));
  });

  it('shards merged by the report equal the unsharded run', async () => {
    const dirs: string[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await runExperiment({ configFile: config, out: join(work, `shard${i}`), shard: { index: i, count: 3 }, ...quiet });
      expect(s.trials.length).toBe(TRIALS / 3);
      dirs.push(s.dir);
    }
    const merged = await writeReport(dirs, { out: join(work, 'merged') });
    expect(merged.duplicates).toEqual([]);
    expect(byId(merged.rows)).toEqual(byId(clean.rows));
    expectCsvMatchesJsonl(merged.outDir);
    const single = await writeReport([clean.dir], { plots: false });
    for (const m of REPORT_METRICS.filter((x) => ['accuracy', 'kl', 'top1_agreement', 'total_bytes'].includes(x.key))) {
      expect(markdownTable(merged.rows, m)).toEqual(markdownTable(single.rows, m));
    }
    expect(merged.markdown).toContain('| full cache |');
    const names = merged.charts.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['accuracy-vs-budget', 'decode-latency-vs-budget', 'memory-vs-budget', 'attention-mass-by-modality']));
    for (const c of merged.charts) {
      expect(readFileSync(c.svg, 'utf8')).toMatch(/^<svg[^>]*width="\d+"/);
      expect(readFileSync(c.png).subarray(1, 4).toString()).toBe('PNG');
    }
  });

  it('a trial that throws is reported and skipped, not fatal; --resume retries it', async () => {
    const broken = join(work, 'broken.jsonl');
    // stories260K has no video projector: every sample of this dataset fails inside the runtime.
    writeFileSync(join(work, 'v.f32'), Buffer.from(new Float32Array(8).buffer));
    writeFileSync(broken, `${JSON.stringify({ id: 'v', prompt: [{ text: 'Once' }, { modality: 'video', features: 'v.f32', featureDim: 4 }], choices: [' a', ' b'], answer: 0 })}\n`);
    const cfg = join(work, 'broken.yaml');
    writeFileSync(cfg, readFileSync(config, 'utf8').replace(/dataset: .*/, `dataset: { kind: jsonl, path: ${broken} }`).replace('samples: 3', 'samples: 1'));
    const out = join(work, 'broken-out');
    const r = await runExperiment({ configFile: cfg, out, ...quiet });
    expect(r.rows).toHaveLength(0);
    expect(r.failed).toHaveLength(TRIALS);
    expect(r.failed[0]!.error).toMatch(/video/);
    expect(readFileSync(join(out, 'errors.jsonl'), 'utf8').trim().split('\n')).toHaveLength(TRIALS);
    const again = await runExperiment({ configFile: cfg, out, resume: true, ...quiet });
    expect(again.failed).toHaveLength(TRIALS);
  });

  it('a fresh run into a directory with results asks for --resume', async () => {
    await expect(runExperiment({ configFile: config, out: clean.dir, ...quiet })).rejects.toThrow(/pass --resume/);
  });
});
