/**
 * llama.cpp on a GGUF our writer made runs the same model as our runtime: its next-token
 * probabilities match ours (the proof the weights, their Q/K permutation and the metadata are
 * right). Needs node-llama-cpp (`npm run bench:setup`); skipped without it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { llamaCppDecode, llamaCppInstalled, llamaCppNextProbs } from '../../bench/_llama-cpp.js';
import { Decoder } from '../../src/model/decoder.js';
import { embedPrompt } from '../../src/model/embed-prompt.js';
import { writeLlamaGguf } from '../../src/model/gguf-llama.js';
import { initModel } from '../../src/model/init-model.js';
import { loadModel } from '../../src/model/model.js';

let dir: string;
beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), 'kvprism-llamacpp-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Our runtime's softmax over the logits after `ids` (TS backend: the reference path). */
function ourProbs(modelDir: string, ids: number[]): Float64Array {
  const model = loadModel(modelDir);
  const dec = new Decoder(model);
  const logits = dec.prefill(dec.open({}), embedPrompt(model, { segments: [{ kind: 'tokens', ids }], addBos: false }));
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const p = Float64Array.from(logits, (v) => Math.exp(v - max));
  const z = p.reduce((a, b) => a + b, 0);
  return p.map((x) => x / z);
}

/** Writes tiny-llama with peaked weights (std 0.3: the distribution is far from uniform) and its GGUF. */
function tinyModel(name: string, dtype: 'f32' | 'bf16'): { modelDir: string; gguf: string } {
  const modelDir = join(dir, name);
  initModel({ preset: 'tiny-llama', out: modelDir, dtype, std: 0.3, seed: 11 });
  const gguf = join(modelDir, 'model.gguf');
  writeLlamaGguf(modelDir, gguf);
  return { modelDir, gguf };
}

const IDS = [257, 40, 200, 13, 99, 150, 7, 256, 31, 180, 64, 2, 120];

describe.skipIf(!llamaCppInstalled())('llama.cpp on our GGUF', () => {
  it('gives the next-token distribution our runtime gives (f32 weights)', async () => {
    const { modelDir, gguf } = tinyModel('f32', 'f32');
    const ours = ourProbs(modelDir, IDS);
    const theirs = await llamaCppNextProbs(gguf, IDS);
    const top = [...theirs.entries()].slice(0, 20);
    expect(top[0]![0]).toBe(ours.indexOf(Math.max(...ours)));
    // The distribution is peaked: a wrong permutation or norm moves these by far more.
    expect(top[0]![1]).toBeGreaterThan(0.05);
    for (const [id, p] of top) expect(Math.abs(p - ours[id]!)).toBeLessThan(2e-3);
  });

  it('gives nearly the same distribution from bf16 weights (llama.cpp rounds activations to bf16)', async () => {
    const { modelDir, gguf } = tinyModel('bf16', 'bf16');
    const ours = ourProbs(modelDir, IDS);
    const theirs = await llamaCppNextProbs(gguf, IDS);
    let kl = 0;
    for (const [id, p] of theirs) if (p > 0) kl += p * Math.log(p / Math.max(ours[id]!, 1e-30));
    expect(kl).toBeLessThan(0.02);
  });

  it('decodes at the given depth and reports positive speeds', async () => {
    const { gguf } = tinyModel('speed', 'f32');
    const r = await llamaCppDecode(gguf, { context: 40, decode: 3, threads: 1, vocabSize: 300 });
    expect(r.prefillTokS).toBeGreaterThan(0);
    expect(r.decodeTokS).toBeGreaterThan(0);
  });
});
