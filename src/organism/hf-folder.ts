/**
 * Writes / reads the organism as an HF-format folder: config.json, model.safetensors,
 * tokenizer.json, tokenizer_config.json and a README.md model card.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fromHfConfig, toHfConfig } from './config.js';
import { loadSafetensors, saveSafetensors } from './safetensors-io.js';
import { TRAINING_ONLY, paramShapes } from './params.js';
import { tokenizerConfigJson, tokenizerJson } from './tokenizer-json.js';
import { makeVocabulary, type Vocabulary } from './sequence.js';
import type { Organism } from './forward.js';

export function saveOrganism(dir: string, model: Organism, words: readonly string[], card?: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(toHfConfig(model.config), null, 2)}\n`);
  const saved = new Map([...model.params].filter(([name]) => !TRAINING_ONLY.includes(name)));
  saveSafetensors(join(dir, 'model.safetensors'), saved, { format: 'pt' });
  writeFileSync(join(dir, 'tokenizer.json'), `${JSON.stringify(tokenizerJson(words), null, 1)}\n`);
  writeFileSync(join(dir, 'tokenizer_config.json'), `${JSON.stringify(tokenizerConfigJson(), null, 2)}\n`);
  if (card !== undefined) writeFileSync(join(dir, 'README.md'), card);
}

/** Loads the folder written by saveOrganism; checks every tensor's presence and shape. */
export function loadOrganism(dir: string): { model: Organism; vocab: Vocabulary } {
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) {
    if (!existsSync(join(dir, f))) throw new Error(`organism folder ${dir}: ${f} is missing`);
  }
  const config = fromHfConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), join(dir, 'config.json'));
  const { params } = loadSafetensors(join(dir, 'model.safetensors'));
  for (const [name, shape] of paramShapes(config)) {
    const t = params.get(name);
    if (!t) throw new Error(`${join(dir, 'model.safetensors')}: tensor "${name}" is missing`);
    if (t.shape.join('x') !== shape.join('x')) throw new Error(`${join(dir, 'model.safetensors')}: tensor "${name}" has shape [${t.shape}]; expected [${shape}]`);
  }
  const tok = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } };
  const words: string[] = [];
  for (const [w, id] of Object.entries(tok.model.vocab)) words[id] = w;
  return { model: { config, params }, vocab: makeVocabulary(words) };
}
