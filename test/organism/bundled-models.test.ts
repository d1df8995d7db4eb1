import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLED_MODELS } from '../../src/runner/bundled-models.js';
import { resolveModelDir } from '../../src/runner/run-experiment.js';
import { loadOrganism } from '../../src/organism/hf-folder.js';

describe('the organisms a config may name', () => {
  it.each(Object.keys(BUNDLED_MODELS))('%s resolves to a shipped folder with weights, a card and its recipe', (name) => {
    const dir = resolveModelDir(name, '/somewhere/else');
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'README.md', 'recipe.yaml']) expect(existsSync(join(dir, f)), `${dir}/${f}`).toBe(true);
    const { model } = loadOrganism(dir);
    expect(model.config.layers).toBe(4);
    // The card names the config key that selects it.
    const card = readFileSync(join(dir, 'README.md'), 'utf8');
    if (name !== 'organism') expect(card).toContain(`model: ${name}`);
  });
});
