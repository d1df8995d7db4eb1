/**
 * The paper reproductions (experiments/): every manifest and config parses and every claim
 * names labels and budgets its run produces; and `reproduceExperiment` runs each experiment
 * end to end on the real stories260K checkpoint with two samples per trial (the organism and
 * av-world are swapped out through the same `--set` overrides a user has).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { listExperiments, loadManifest } from '../../experiments/lib/manifest.js';
import { reproduceExperiment } from '../../experiments/lib/reproduce-experiment.js';
import { validateExperiment } from '../../experiments/lib/validate.js';
import { loadModel } from '../../src/model/model.js';

const EXPERIMENTS = fileURLToPath(new URL('../../experiments', import.meta.url));
const STORIES = fileURLToPath(new URL('../../../shared/models/stories260K', import.meta.url));
const JSONL = fileURLToPath(new URL('../../datasets/samples/tiny-stories-qa.jsonl', import.meta.url));
const STORIES_SET = [`model=${STORIES}`, `dataset={kind: jsonl, path: ${JSONL}}`];
const out = mkdtempSync(join(tmpdir(), 'kvprism-reproduce-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('experiment manifests and configs', () => {
  it('lists the three papers', () => {
    expect(listExperiments(EXPERIMENTS)).toEqual(['acckv', 'flowmm', 'retentivekv']);
  });

  it.each(['acckv', 'flowmm', 'retentivekv'])('%s: configs expand and claims reference real labels and budgets', (name) => {
    const loaded = loadManifest(EXPERIMENTS, name);
    const trials = validateExperiment(loaded);
    for (const run of loaded.manifest.runs) expect(trials.get(run.name)!.length).toBeGreaterThan(1);
    expect(existsSync(join(loaded.dir, 'README.md'))).toBe(true);
  });

  it('names the experiment when it does not exist', () => {
    expect(() => loadManifest(EXPERIMENTS, 'nope')).toThrow(/no experiment "nope".*known: acckv, flowmm, retentivekv/);
  });
});

describe('npm run reproduce, end to end on stories260K (2 samples per trial)', () => {
  it.each(['acckv', 'flowmm', 'retentivekv'])('%s', async (name) => {
    const dir = join(out, name);
    // One setting (the papers' protocol) keeps this quick; test/experiments/settings.test.ts covers several.
    const r = await reproduceExperiment({ name, experimentsDir: EXPERIMENTS, samples: 2, out: dir, set: STORIES_SET, settings: ['default-aware'], plots: name === 'acckv', log: () => {} });
    const { manifest } = loadManifest(EXPERIMENTS, name);
    expect(r.readmeUpdated).toBe(false);
    expect(r.runs.map((x) => x.name)).toEqual(manifest.runs.map((x) => x.name));
    for (const run of r.runs) {
      expect(run.failed).toEqual([]);
      expect(run.rows.every((row) => row.samples === 2)).toBe(true);
      expect(existsSync(join(dir, 'default-aware', run.name, 'results.csv'))).toBe(true);
      expect(existsSync(join(dir, 'default-aware', run.name, 'report.md'))).toBe(true);
    }
    // Answers come from the compressed cache: some compressed trial differs from the full one.
    expect(r.runs[0]!.rows.some((row) => row.policy !== 'full' && (row.kl ?? 0) > 1e-6)).toBe(true);
    expect(r.claims.map((c) => c.id)).toEqual(manifest.claims.map((c) => c.id));
    for (const c of r.claims) expect(['confirmed', 'contradicted', 'undecided', 'not testable here']).toContain(c.verdict);
    // The verdicts rest on the runs' own predictions.jsonl: each compared claim has its paired n.
    const compared = r.claims.filter((c) => c.comparisons.length > 0);
    expect(compared.length).toBeGreaterThan(0);
    for (const c of compared) for (const k of c.comparisons) expect(k.diff.n).toBe(2);
    const summary = readFileSync(r.settings[0]!.summaryFile, 'utf8');
    expect(summary).toContain('**not the AV organism**');
    expect(summary).toContain('### Ablation rows');
    expect(summary).toContain('| claim | comparison | metric | difference | 95 % interval | n | needs | reading |');
    if (name === 'acckv') expect(existsSync(join(dir, 'default-aware', 'main', 'plots', 'accuracy-vs-budget.svg'))).toBe(true);
    if (name === 'flowmm') expect(r.flow!.rho).toHaveLength(loadModel(STORIES).config.numLayers);
  }, 60_000);
});
