/**
 * Reproduction settings: an experiment that declares `settings` (models, presets, protocols)
 * runs every run once per setting into results/<setting>/, decides every claim in each on its
 * own predictions, and writes the claim × setting verdict matrix into summary.md and the
 * README. Runs on the real stories260K checkpoint with three samples per trial.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadManifest } from '../../experiments/lib/manifest.js';
import { reproduceExperiment } from '../../experiments/lib/reproduce-experiment.js';
import { RESULTS_BEGIN, RESULTS_END } from '../../experiments/lib/summary.js';
import { readResults } from '../../src/runner/results-store.js';

const STORIES = fileURLToPath(new URL('../../../shared/models/stories260K', import.meta.url));
const JSONL = fileURLToPath(new URL('../../datasets/samples/tiny-stories-qa.jsonl', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'kvprism-settings-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A one-run experiment under root/<name>/ with the given settings block. */
function writeExperiment(name: string, settings: string): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'main.yaml'),
    [`name: ${name}-main`, `model: ${STORIES}`, `dataset: { kind: jsonl, path: ${JSONL} }`, 'samples: 3', 'policies: [full, snapkv, h2o]', "budgets: ['20%']", 'metrics: [accuracy, fidelity, memory]', ''].join('\n'),
  );
  writeFileSync(
    join(dir, 'experiment.yaml'),
    `title: Mini
paper: { title: Mini, arxiv: '0000.00000' }
runs:
  - { name: main, config: main.yaml, about: the one run }
${settings}
claims:
  - id: beats
    claim: snapkv beats h2o at 20 %
    paper: none
    check: { kind: beats, run: main, metric: kl, policy: snapkv, over: [h2o], budgets: ['20%'] }
`,
  );
  writeFileSync(join(dir, 'README.md'), `# Mini\n\n${RESULTS_BEGIN}\nold\n${RESULTS_END}\n`);
  return dir;
}

describe('reproduction settings', () => {
  const settings = `settings:
  - { name: aware, about: query-aware, set: [protocol=query-aware] }
  - { name: agnostic, about: question after compression, set: [protocol=query-agnostic], samples: 2 }`;

  it('runs each setting into its own folder, decides the claims per setting and writes the matrix', async () => {
    const dir = writeExperiment('mini', settings);
    const r = await reproduceExperiment({ name: 'mini', experimentsDir: root, log: () => {} });
    expect(r.settings.map((s) => s.setting.name)).toEqual(['aware', 'agnostic']);
    const aware = readResults(join(dir, 'results', 'aware', 'main'));
    const agnostic = readResults(join(dir, 'results', 'agnostic', 'main'));
    expect(new Set(aware.map((x) => x.protocol))).toEqual(new Set(['query-aware']));
    expect(new Set(agnostic.map((x) => x.protocol))).toEqual(new Set(['query-agnostic']));
    // The setting's own sample count applies to its runs only.
    expect(aware.every((x) => x.samples === 3)).toBe(true);
    expect(agnostic.every((x) => x.samples === 2)).toBe(true);
    for (const s of r.settings) {
      expect(s.claims).toHaveLength(1);
      expect(s.claims[0]!.comparisons[0]!.diff.n).toBe(s.setting.name === 'aware' ? 3 : 2);
      expect(readFileSync(join(dir, 'results', s.setting.name, 'summary.md'), 'utf8')).toContain(`setting \`${s.setting.name}\``);
    }
    expect(r.readmeUpdated).toBe(true);
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    expect(readme).not.toContain('\nold\n');
    expect(readme).toContain('| claim | `aware` | `agnostic` |');
    expect(readme).toContain('](results/aware/summary.md)');
    const verdicts = r.settings.map((s) => s.claims[0]!.verdict);
    const cell = (v: string): string => (v === 'confirmed' || v === 'contradicted' ? `**${v}**` : v === 'undecided' ? 'undecided' : '–');
    expect(readme).toContain(`| snapkv beats h2o at 20 % | ${verdicts.map(cell).join(' | ')} |`);
    expect(readFileSync(join(dir, 'results', 'summary.md'), 'utf8')).toContain('](aware/summary.md)');
  }, 120_000);

  it('--settings does only the named ones and leaves the README alone', async () => {
    const dir = writeExperiment('picked', settings);
    const r = await reproduceExperiment({ name: 'picked', experimentsDir: root, settings: ['agnostic'], log: () => {} });
    expect(r.settings.map((s) => s.setting.name)).toEqual(['agnostic']);
    expect(existsSync(join(dir, 'results', 'aware'))).toBe(false);
    expect(r.readmeUpdated).toBe(false);
    await expect(reproduceExperiment({ name: 'picked', experimentsDir: root, settings: ['nope'], log: () => {} })).rejects.toThrow(/--settings nope: not a setting of picked \(settings: aware, agnostic\)/);
  }, 120_000);

  it('rejects duplicate names, unknown runs and bad overrides before running anything', () => {
    writeExperiment('dup', `settings:\n  - { name: a, about: x }\n  - { name: a, about: y, runs: [nope] }`);
    expect(() => loadManifest(root, 'dup')).toThrow(/settings\.1\.name: "a" is used twice[\s\S]*settings\.1\.runs: "nope" is not one of the runs \(main\)/);
    writeExperiment('bad', `settings:\n  - { name: ok, about: x }\n  - { name: broken, about: y, set: [protocol=sideways] }`);
    return expect(reproduceExperiment({ name: 'bad', experimentsDir: root, log: () => {} })).rejects.toThrow(/settings\.broken: runs\.main \(main\.yaml\):.*protocol/s);
  });
});
