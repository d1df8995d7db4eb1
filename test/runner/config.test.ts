import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { policies } from '../../src/policies/catalog.js';
import { ConfigError } from '../../src/util/config-error.js';
import { loadConfig } from '../../src/runner/config-load.js';
import { resolveModelDir } from '../../src/runner/run-experiment.js';
import { experimentJsonSchema } from '../../src/runner/config-schema.js';
import { expandTrials } from '../../src/runner/sweep.js';

const dir = mkdtempSync(join(tmpdir(), 'kvprism-config-'));
let n = 0;
function file(yaml: string): string {
  const f = join(dir, `c${n++}.yaml`);
  writeFileSync(f, yaml);
  return f;
}

const BASE = `
model: ../models/m
dataset: { kind: jsonl, path: data/qa.jsonl }
policies: [full, snapkv]
`;

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('config loading', () => {
  it('fills defaults from the schema', () => {
    const { config } = loadConfig(file(BASE));
    expect(config.samples).toBe(16);
    expect(config.seeds).toEqual([0]);
    expect(config.backend).toBe('auto');
    expect(config.cache).toEqual({ dtype: 'f32', queryAware: true });
    expect(config.schedule).toBe('after-prefill');
  });

  it('an unknown key names its path and suggests the nearest known key', () => {
    const e = errorOf(() => loadConfig(file(`${BASE}\nsampels: 4\n`)));
    expect(e.message).toContain('sampels: unknown key; did you mean "samples"?');
  });

  it('a bad value names the key path, the value and the expected form', () => {
    const e = errorOf(() => loadConfig(file(`${BASE}\nsamples: lots\n`)));
    expect(e.message).toContain('samples: expected number; got "lots" (string) — Samples per trial');
    const e2 = errorOf(() => loadConfig(file(`${BASE}\ncache: { dtype: f8 }\n`)));
    expect(e2.message).toContain('cache.dtype: expected one of "f32"|"f16"|"bf16"; got "f8" (string) — K/V storage type');
    const e3 = errorOf(() => loadConfig(file(`${BASE}\nseeds: [1, -2]\n`)));
    expect(e3.message).toContain('seeds[1]: Too small: expected number to be >=0; got -2 (number)');
  });

  it('a typo inside a policy entry points into the entry, not at its type', () => {
    const e = errorOf(() => loadConfig(file(`${BASE.replace('[full, snapkv]', '[{ name: snapkv, optoins: {} }]')}`)));
    expect(e.message).toContain('policies[0].optoins: unknown key; did you mean "options"?');
  });

  it('an unknown policy suggests the nearest registered one', () => {
    const f = file(BASE.replace('snapkv', 'snapvk'));
    const e = errorOf(() => expandTrials(loadConfig(f).config, policies, f));
    expect(e.message).toContain('policies[1].name: unknown policy "snapvk"; did you mean "snapkv"?');
  });

  it('bad policy options and budgets are reported with their paths', () => {
    const f = file(`${BASE.replace('[full, snapkv]', '[{ name: snapkv, options: { windw: 8 } }]')}\nbudgets: ['20%', 'lots']\n`);
    const e = errorOf(() => expandTrials(loadConfig(f).config, policies, f));
    expect(e.issues.some((i) => i.startsWith('budgets[1]: "lots" is not a budget'))).toBe(true);
    expect(e.issues.some((i) => i.includes('policies[0].options') && i.includes('windw'))).toBe(true);
  });

  it('extends merges a base file and rebases its relative paths; --set overrides last', () => {
    const base = file(`${BASE}\nsamples: 4\nbudgets: ['10%']\n`);
    const sub = join(dir, 'sub');
    mkdirSync(sub, { recursive: true });
    const child = join(sub, 'child.yaml');
    writeFileSync(child, `extends: ../${base.split('/').pop()}\nseeds: [1, 2]\n`);
    const { config } = loadConfig(child, ['samples=8', 'policies.1={name: h2o, options: {recentShare: 0.5}}', 'budgets=[0.1, "512t"]']);
    expect(config.samples).toBe(8);
    expect(config.seeds).toEqual([1, 2]);
    expect(config.model).toBe('../../models/m');
    expect(config.dataset).toEqual({ kind: 'jsonl', path: '../data/qa.jsonl' });
    expect(config.policies[1]).toEqual({ name: 'h2o', options: { recentShare: 0.5 } });
    expect(config.budgets).toEqual([0.1, '512t']);
  });

  it('a shipped organism named in a base config is not rebased as a path, and resolves to its models/ folder', () => {
    const base = file(`${BASE.replace(/^model: .*$/m, 'model: organism-plain')}\n`);
    const sub = join(dir, 'sub-named');
    mkdirSync(sub, { recursive: true });
    const child = join(sub, 'child.yaml');
    writeFileSync(child, `extends: ../${base.split('/').pop()}\n`);
    const { config, baseDir } = loadConfig(child);
    expect(config.model).toBe('organism-plain');
    expect(resolveModelDir(config.model, baseDir)).toBe(fileURLToPath(new URL('../../models/av-organism-plain', import.meta.url)));
    expect(resolveModelDir('organism', baseDir)).toBe(fileURLToPath(new URL('../../models/av-organism', import.meta.url)));
    expect(resolveModelDir('organismx', baseDir)).toBe(join(baseDir, 'organismx'));
  });

  it('--set without "=" and an extends cycle are clear errors', () => {
    expect(errorOf(() => loadConfig(file(BASE), ['samples'])).message).toContain('expected KEY.PATH=VALUE');
    const a = join(dir, 'a.yaml');
    const b = join(dir, 'b.yaml');
    writeFileSync(a, 'extends: b.yaml\n');
    writeFileSync(b, 'extends: a.yaml\n');
    expect(errorOf(() => loadConfig(a)).message).toContain('extends: cycle');
  });

  it('the JSON Schema carries every knob with its doc and default', () => {
    const s = experimentJsonSchema() as { properties: Record<string, { description?: string; default?: unknown }> };
    for (const k of ['model', 'dataset', 'policies', 'budgets', 'schedule', 'backend', 'threads', 'seeds', 'samples', 'metrics', 'output', 'extends']) {
      expect(s.properties[k], k).toBeDefined();
      expect(s.properties[k]!.description ?? JSON.stringify(s.properties[k]), k).toBeTruthy();
    }
    expect(s.properties.samples!.default).toBe(16);
  });
});
