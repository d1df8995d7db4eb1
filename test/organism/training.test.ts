import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { readFileSync } from 'node:fs';
import { OrtKernels } from '../../src/model/organism/ort-kernels.js';
import { forward, crossEntropy } from '../../src/model/organism/forward.js';
import { backward } from '../../src/model/organism/backward.js';
import { initParams, zerosLike, paramShapes } from '../../src/model/organism/params.js';
import { encodePrompt, makeBatch, makeVocabulary } from '../../src/model/organism/sequence.js';
import { saveOrganism, loadOrganism } from '../../src/model/organism/hf-folder.js';
import { organismConfig } from '../../src/model/organism/train.js';
import { packQuestions, trainSequence } from '../../src/model/organism/train-data.js';
import { Rng, worldVocabulary, SHAPES, COLOURS, SOUNDS, COUNTS, YES_NO } from '../../src/datasets/av-world/index.js';
import type { OrganismConfig } from '../../src/model/organism/config.js';

const tinyConfig: OrganismConfig = { hidden: 16, intermediate: 24, layers: 2, heads: 4, kvHeads: 2, headDim: 6, vocab: 10, ropeTheta: 10000, rmsEps: 1e-5, maxPositions: 64, bosId: 1, eosId: 2, padId: 0, videoFeatureDim: 5, audioFeatureDim: 3 };

describe('organism training code', () => {
  it('backward equals finite differences of the forward loss for every parameter tensor', async () => {
    const rng = new Rng(1);
    const params = initParams(tinyConfig, () => rng.normal());
    for (const t of params.values()) for (let i = 0; i < t.data.length; i++) t.data[i] += 0.3 * rng.normal();
    const model = { config: tinyConfig, params };
    const vocab = makeVocabulary(['<pad>', '<s>', '</s>', '<unk>', 'a', 'b', 'c', 'd', 'e', 'f']);
    const seg = (m: 'video' | 'audio', n: number, F: number) => ({ kind: 'features' as const, modality: m, n, featureDim: F, data: Float32Array.from({ length: n * F }, () => rng.normal()) });
    const p1 = encodePrompt({ segments: [seg('video', 3, 5), { kind: 'text', text: 'a b' }, seg('audio', 2, 3), { kind: 'text', text: 'c d e' }] }, vocab);
    const p2 = encodePrompt({ segments: [seg('audio', 4, 3), seg('video', 2, 5), { kind: 'text', text: 'f a' }] }, vocab);
    const batch = makeBatch([p1, p2], [[[5, 7], [p1.n - 1, 4]], [[p2.n - 1, 9]]], 0);
    const k = await OrtKernels.create(1);
    const lossOf = async () => crossEntropy((await forward(k, model, batch)).logits, batch.targets, tinyConfig.vocab).loss;
    const f = await forward(k, model, batch);
    const ce = crossEntropy(f.logits, batch.targets, tinyConfig.vocab);
    const grads = zerosLike(params);
    await backward(k, model, batch, f, ce.dlogits, grads);
    let checked = 0;
    for (const [name, t] of params) {
      const g = grads.get(name)!.data;
      for (let trial = 0; trial < 2; trial++) {
        const i = Math.floor(rng.next() * t.data.length);
        const old = t.data[i]!;
        t.data[i] = old + 1e-2;
        const lp = await lossOf();
        t.data[i] = old - 1e-2;
        const lm = await lossOf();
        t.data[i] = old;
        const num = (lp - lm) / 2e-2;
        expect(Math.abs(num - g[i]!), `${name}[${i}]`).toBeLessThan(0.03 * Math.max(1e-2, Math.abs(num) + Math.abs(g[i]!)));
        checked++;
      }
    }
    expect(checked).toBe(2 * paramShapes(tinyConfig).length);
  });

  it('padding a sequence in a batch does not change its logits (causal)', async () => {
    const rng = new Rng(2);
    const model = { config: tinyConfig, params: initParams(tinyConfig, () => rng.normal()) };
    const vocab = makeVocabulary(['<pad>', '<s>', '</s>', '<unk>', 'a', 'b', 'c', 'd', 'e', 'f']);
    const short = encodePrompt({ segments: [{ kind: 'text', text: 'a b c' }] }, vocab);
    const long = encodePrompt({ segments: [{ kind: 'text', text: 'f e d c b a f' }] }, vocab);
    const k = await OrtKernels.create(1);
    const alone = await forward(k, model, makeBatch([short], [[[3, 0]]], 0));
    const both = await forward(k, model, makeBatch([short, long], [[[3, 0]], [[7, 0]]], 0));
    for (let j = 0; j < tinyConfig.vocab; j++) expect(both.logits[j]).toBeCloseTo(alone.logits[j]!, 4);
  });

  it('packs every question of a clip with one answer target per question', () => {
    const vocab = makeVocabulary(worldVocabulary());
    const seq = trainSequence(8, 1, 0, vocab, new Rng(3));
    expect(seq.targets.length).toBeGreaterThanOrEqual(2);
    for (const [pos, label] of seq.targets) {
      expect(vocab.words[seq.encoded.ids[pos]!]).toBe('answer');
      if (pos + 1 < seq.encoded.n) expect(seq.encoded.ids[pos + 1]).toBe(label);
    }
    expect(packQuestions([], vocab).text).toBe('');
  });

  it('saves and reloads the HF folder; the tokenizer maps every answer word to one token', () => {
    const dir = mkdtempSync(join(tmpdir(), 'organism-'));
    const config = organismConfig({ layers: 1, hidden: 32, intermediate: 48, headDim: 8 });
    const rng = new Rng(4);
    const model = { config, params: initParams(config, () => rng.normal()) };
    const words = worldVocabulary();
    saveOrganism(dir, model, words, '# card\n');
    const back = loadOrganism(dir);
    expect(back.model.config).toEqual(config);
    for (const [name, t] of model.params) expect(Array.from(back.model.params.get(name)!.data)).toEqual(Array.from(t.data));
    const hf = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(hf.model_type).toBe('llama');
    expect(hf.kvprism.projectors.video.feature_dim).toBe(config.videoFeatureDim);
    const tok = new Tokenizer(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')), JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')));
    for (const w of [...SHAPES, ...COLOURS, ...SOUNDS, ...COUNTS, ...YES_NO]) expect(tok.encode(w).ids).toEqual([words.indexOf(w)]);
    expect(tok.encode('question which shape made the buzz sound answer').ids).toHaveLength(8);
  });
});
