/**
 * The paper reproductions (experiments/): every manifest and config parses and every claim
 * names labels and budgets its run produces; the answer-after-compression protocol moves the
 * last prompt token into the choices exactly; and `reproduceExperiment` runs each experiment
 * end to end on the real stories260K checkpoint with two samples per trial (the organism and
 * av-world are swapped out through the same `--set` overrides a user has).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { holdBackLastToken } from '../../experiments/lib/answer-after-compression.js';
import { listExperiments, loadManifest } from '../../experiments/lib/manifest.js';
import { reproduceExperiment } from '../../experiments/lib/reproduce-experiment.js';
import { validateExperiment } from '../../experiments/lib/validate.js';
import { loadModel } from '../../src/model/model.js';
import type { TextTokenizer } from '../../src/model/tokenizer.js';
import type { QASample } from '../../src/model/prompt.js';

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

describe('answer-after-compression protocol', () => {
  // A whitespace word tokenizer, the kind the AV organism has (every answer one token).
  const words = ['question', 'what', 'colour', 'answer', 'red', 'blue'];
  const wordTok: TextTokenizer = {
    vocabSize: words.length, bosId: null, eosIds: [], addsBos: false,
    encode: (t) => t.split(/\s+/).filter(Boolean).map((w) => words.indexOf(w)),
    decode: (ids) => ids.map((i) => words[i]).join(' '),
  };
  const sample: QASample = { id: 'q1', family: 'colour', prompt: { segments: [{ kind: 'text', text: 'question what colour answer' }] }, choices: ['red', 'blue'], answer: 1 };

  it('moves the last prompt word into every choice, token for token', () => {
    const h = holdBackLastToken(sample, wordTok);
    expect(h.prompt.segments).toEqual([{ kind: 'text', text: 'question what colour' }]);
    expect(h.choices).toEqual([' answer red', ' answer blue']);
    expect(h.choices.map((c) => wordTok.encode(c))).toEqual([[3, 4], [3, 5]]);
    expect(h.answer).toBe(1);
  });

  it('leaves samples whose choices already share a first token alone (llama2.c leading-space piece)', () => {
    const tok = loadModel(STORIES).tokenizer;
    const s: QASample = { id: 's', family: 'name', prompt: { segments: [{ kind: 'text', text: 'The girl was' }] }, choices: [' Lily', ' Tom'], answer: 0 };
    expect(holdBackLastToken(s, tok)).toBe(s);
  });

  it('refuses a prompt that does not end in text, naming the sample', () => {
    const s: QASample = { ...sample, prompt: { segments: [{ kind: 'tokens', ids: [1, 2] }] } };
    expect(() => holdBackLastToken(s, wordTok)).toThrow(/sample q1: the prompt must end in a text segment/);
  });
});

describe('npm run reproduce, end to end on stories260K (2 samples per trial)', () => {
  it.each(['acckv', 'flowmm', 'retentivekv'])('%s', async (name) => {
    const dir = join(out, name);
    const r = await reproduceExperiment({ name, experimentsDir: EXPERIMENTS, samples: 2, out: dir, set: STORIES_SET, plots: name === 'acckv', log: () => {} });
    const { manifest } = loadManifest(EXPERIMENTS, name);
    expect(r.readmeUpdated).toBe(false);
    expect(r.runs.map((x) => x.name)).toEqual(manifest.runs.map((x) => x.name));
    for (const run of r.runs) {
      expect(run.failed).toEqual([]);
      expect(run.rows.every((row) => row.samples === 2)).toBe(true);
      expect(existsSync(join(dir, run.name, 'results.csv'))).toBe(true);
      expect(existsSync(join(dir, run.name, 'report.md'))).toBe(true);
    }
    expect(r.claims.map((c) => c.id)).toEqual(manifest.claims.map((c) => c.id));
    for (const c of r.claims) expect(['confirmed', 'not confirmed', 'not testable here']).toContain(c.verdict);
    const summary = readFileSync(r.summaryFile, 'utf8');
    expect(summary).toContain('**not the AV organism**');
    expect(summary).toContain('### Ablation rows');
    if (name === 'acckv') expect(existsSync(join(dir, 'main', 'plots', 'accuracy-vs-budget.svg'))).toBe(true);
    if (name === 'flowmm') expect(r.flow!.rho).toHaveLength(loadModel(STORIES).config.numLayers);
  }, 60_000);
});
