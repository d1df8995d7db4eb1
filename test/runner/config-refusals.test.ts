/**
 * Configs and datasets that cannot mean what they say are refused with an error naming the
 * file, the field and the expected form (issue 17 part 10), never run with a silent default
 * or a bare JavaScript error.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { policies } from '../../src/policies/catalog.js';
import { loadConfig } from '../../src/runner/config-load.js';
import { jsonDepth, loadJsonlDataset } from '../../src/runner/jsonl-dataset.js';
import { checkOptionsForModel } from '../../src/runner/model-option-checks.js';
import { runExperiment } from '../../src/runner/run-experiment.js';
import { expandTrials } from '../../src/runner/sweep.js';
import { ConfigError } from '../../src/util/config-error.js';

const dir = mkdtempSync(join(tmpdir(), 'kvprism-refuse-'));
const modelDir = fileURLToPath(new URL('../../../shared/models/stories260K', import.meta.url));
const bundled = fileURLToPath(new URL('../../datasets/samples/tiny-stories-qa.jsonl', import.meta.url));
let n = 0;
function file(name: string, text: string): string {
  const f = join(dir, `${n++}-${name}`);
  writeFileSync(f, text);
  return f;
}
const config = (policiesYaml: string) =>
  file('c.yaml', `model: ${modelDir}\ndataset: { kind: jsonl, path: ${bundled} }\nsamples: 1\nbackend: ts\npolicies: ${policiesYaml}\n`);

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

describe('refused configs', () => {
  it('an empty sweep list for a policy option names the option and the expected form', () => {
    const f = config('[{ name: snapkv, options: { window: [] } }]');
    const { config: c } = loadConfig(f);
    const e = messageOf(() => expandTrials(c, policies, f));
    expect(e).toContain(`${f}: policies[0].options.window: an empty list sweeps no value; expected one value, or a non-empty list of values to sweep (e.g. window: [a, b])`);
    expect(e).not.toContain('undefined');
  });

  it('dataset.families: names a family that does not exist and the six that do', () => {
    const f = file('fam.yaml', 'model: organism\ndataset: { kind: av-world, preset: default, families: [sound-order, cooking] }\nsamples: 1\npolicies: [full]\n');
    const e = messageOf(() => loadConfig(f));
    expect(e).toContain(f);
    expect(e).toContain('dataset.families[1]: expected one of "av-visible"');
    expect(e).toContain('got "cooking"');
    expect(e).toMatch(/av-visible/);
    const ok = file('fam-ok.yaml', 'model: organism\ndataset: { kind: av-world, preset: default, families: [sound-order] }\nsamples: 1\npolicies: [full]\n');
    expect(loadConfig(ok).config.dataset).toMatchObject({ families: ['sound-order'] });
  });

  it('FastV layer beyond the model depth is refused once the model is known, before any row', async () => {
    const f = config('[full, { name: fastv, options: { layer: [1, 4] } }]');
    const out = join(dir, 'fastv-out');
    const err = await runExperiment({ configFile: f, out, live: false, log: () => {} }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(ConfigError);
    // stories260K has 5 layers: FastV keeps layers 0..K whole, so K = 4 prunes nothing.
    expect((err as Error).message).toContain(`${f}: policies[1].options.layer: 4 leaves no layer to prune in a model of 5 layers (FastV keeps layers 0..layer whole); expected 0 ≤ layer ≤ 3 (model ${modelDir})`);
    expect((err as Error).message).not.toContain('layer: 1 ');
    expect(existsSync(join(out, 'results.jsonl'))).toBe(false);
  });

  it('other model-dependent options: knorm skipLayers and FlowMM per-layer rho', () => {
    const f = config('[{ name: knorm, options: { skipLayers: 8 } }, { name: flowmm, options: { rho: [[0.1, 0.2]] } }, { name: flowmm, options: { rho: [[0.1, 0.2, 0.3, 0.4, 0.5]] } }]');
    const { config: c } = loadConfig(f);
    expandTrials(c, policies, f); // valid for some model: the schema alone cannot tell
    const e = messageOf(() => checkOptionsForModel(c, policies, { numLayers: 5, qHeads: 8, kvHeads: 4, headDim: 8 }, f, 'm'));
    expect(e).toContain('policies[0].options.skipLayers: 8 leaves every layer of a 5-layer model uncompressed; expected 0 ≤ skipLayers ≤ 4 (model m)');
    expect(e).toContain('policies[1].options.rho: has 2 entries; expected none (online ρ) or one per layer (5)');
    expect(e).not.toContain('policies[2]');
    expect(() => checkOptionsForModel(c, policies, { numLayers: 9, qHeads: 8, kvHeads: 4, headDim: 8 }, f)).toThrow(/policies\[1\]\.options\.rho: has 2 entries; [^]*policies\[2\]\.options\.rho: has 5 entries/);
  });

  it('a self-referencing YAML anchor names the file and the key, not "circular structure"', () => {
    const f = file('loop.yaml', `model: ${modelDir}\ndataset: { kind: jsonl, path: x.jsonl }\npolicies: &p [full, *p]\n`);
    const e = messageOf(() => loadConfig(f));
    expect(e).toContain(`${f}: policies[1]: contains itself through a YAML alias`);
    expect(e).not.toMatch(/circular structure/);
    const g = file('ok-alias.yaml', `model: m\ndataset: { kind: jsonl, path: x.jsonl }\nbudgets: &b ['20%']\npolicies: [{ name: snapkv, options: { window: 8 } }]\nseeds: [0]\n`);
    expect(loadConfig(g).config.budgets).toEqual(['20%']); // a plain alias is fine
    expect(() => loadConfig(f, [])).toThrow(ConfigError);
  });
});

describe('refused JSONL samples', () => {
  const ok = { id: 'a', choices: [' x', ' y'], answer: 0 };
  const ds = (lines: string[], files: Record<string, number> = {}): string => {
    const d = mkdtempSync(join(dir, 'ds-'));
    mkdirSync(join(d, 'emb'));
    for (const [name, floats] of Object.entries(files)) writeFileSync(join(d, name), Buffer.alloc(floats * 4));
    writeFileSync(join(d, 'qa.jsonl'), lines.join('\n'));
    return join(d, 'qa.jsonl');
  };

  it('a deeply nested prompt names file and line instead of overflowing the stack', () => {
    const deep = `${'['.repeat(50_000)}${']'.repeat(50_000)}`;
    const f = ds([JSON.stringify({ ...ok, prompt: 'fine' }), `{"id":"b","prompt":${deep},"choices":["x","y"],"answer":0}`]);
    const e = messageOf(() => loadJsonlDataset(f));
    expect(e).toBe(`${f}:2: nested more than 64 levels deep; expected one sample object {id, prompt, choices, answer} whose prompt is a string or a list of pieces`);
    expect(jsonDepth('{"a": "[[[[", "b": [[1]], "c": "\\"{"}')).toBe(3); // brackets inside strings do not count
  });

  it('an embeddings piece with one wrong field is reported against the embeddings form', () => {
    const f = ds([JSON.stringify({ ...ok, prompt: [{ text: 'Once' }, { modality: 'image', embeddings: 'emb/e.f32', n: '2' }] })], { 'emb/e.f32': 8 });
    const e = messageOf(() => loadJsonlDataset(f));
    expect(e).toBe(`${f}:1: prompt[1].n: expected number; got "2" (string) — Tokens in the span (embeddings piece form: {modality, embeddings, n})`);
    expect(e).not.toContain('.text');
    const g = ds([JSON.stringify({ ...ok, prompt: [{ modality: 'audio', features: 'emb/e.f32', featureDim: 2, tim: [0] }] })], { 'emb/e.f32': 8 });
    expect(messageOf(() => loadJsonlDataset(g))).toContain('prompt[0].tim: unknown key; did you mean "time"?');
    const h = ds([JSON.stringify({ ...ok, prompt: [{ modality: 'audio', file: 'x' }] })]);
    expect(messageOf(() => loadJsonlDataset(h))).toBe(`${h}:1: prompt[0]: expected a prompt piece {modality, embeddings, n} | {modality, features, featureDim} | {video, audioFromVideo?, start?, end?} | {audio} | {image} | {tokens} | {text}; got an object with keys modality, file`);
  });

  it('a directory given as an embeddings file is named as such, not a bare EISDIR', () => {
    const f = ds([JSON.stringify({ ...ok, prompt: [{ modality: 'video', embeddings: 'emb', n: 2 }] })]);
    const e = messageOf(() => loadJsonlDataset(f));
    expect(e).toBe(`${f}:1: prompt[0].embeddings: "${join(dir, f.split('/').at(-2)!, 'emb')}" is a directory; expected a raw little-endian f32 file [n][dim]`);
  });
});
