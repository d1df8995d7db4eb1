import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { readFileSync } from 'node:fs';
import { OrtKernels } from '../../src/organism/ort-kernels.js';
import { forward, crossEntropy } from '../../src/organism/forward.js';
import { backward, type HeadProbe } from '../../src/organism/backward.js';
import { superviseAttention } from '../../src/organism/attention-supervision.js';
import { readoutProbe } from '../../src/organism/readout-probe.js';
import { ModalityCode } from '../../src/cache/modality.js';
import { AUX_HEAD, QUESTION_PROBE, READOUT_PROBE, initParams, zerosLike, trainingParamShapes } from '../../src/organism/params.js';
import { encodePrompt, makeBatch, makeVocabulary } from '../../src/organism/sequence.js';
import { saveOrganism, loadOrganism } from '../../src/organism/hf-folder.js';
import { organismConfig } from '../../src/organism/train.js';
import { packQuestions, trainSequence, type AbsentEvidence } from '../../src/organism/train-data.js';
import { Rng, worldVocabulary, SHAPES, COLOURS, SOUNDS, COUNTS, YES_NO, PRESETS, clipWithQuestions, withFrames } from '../../src/datasets/av-world/index.js';
import type { OrganismConfig } from '../../src/organism/config.js';

const tinyConfig: OrganismConfig = { hidden: 16, intermediate: 24, layers: 2, heads: 4, kvHeads: 2, headDim: 6, vocab: 10, ropeTheta: 10000, rmsEps: 1e-5, maxPositions: 64, bosId: 1, eosId: 2, padId: 0, videoFeatureDim: 5, audioFeatureDim: 3 };

/** Every entry of the analytic gradient g of loss() w.r.t. x equals its central difference. */
function expectCentralDifferences(x: Float32Array, g: Float32Array, loss: () => number): void {
  for (let i = 0; i < x.length; i++) {
    const old = x[i]!;
    x[i] = old + 1e-3;
    const lp = loss();
    x[i] = old - 1e-3;
    const lm = loss();
    x[i] = old;
    expect(Math.abs((lp - lm) / 2e-3 - g[i]!), `index ${i}`).toBeLessThan(2e-3);
  }
}

const modalityAt = (s: { encoded: { modality: ArrayLike<number> } }, pos: number) => s.encoded.modality[pos];

describe('organism training code', () => {
  it('backward equals finite differences of the forward loss (with both probes) for every parameter tensor', async () => {
    const rng = new Rng(1);
    const params = initParams(tinyConfig, () => rng.normal(), { auxHead: true, readoutProbe: true, questionProbe: true });
    for (const t of params.values()) for (let i = 0; i < t.data.length; i++) t.data[i] += 0.3 * rng.normal();
    const model = { config: tinyConfig, params };
    const vocab = makeVocabulary(['<pad>', '<s>', '</s>', '<unk>', 'a', 'b', 'c', 'd', 'e', 'f']);
    const seg = (m: 'video' | 'audio', n: number, F: number) => ({ kind: 'features' as const, modality: m, n, featureDim: F, data: Float32Array.from({ length: n * F }, () => rng.normal()) });
    const p1 = encodePrompt({ segments: [seg('video', 3, 5), { kind: 'text', text: 'a b' }, seg('audio', 2, 3), { kind: 'text', text: 'c d e' }] }, vocab);
    const p2 = encodePrompt({ segments: [seg('audio', 4, 3), seg('video', 2, 5), { kind: 'text', text: 'f a' }] }, vocab);
    const batch = makeBatch([p1, p2], [[[5, 7, true], [p1.n - 1, 4]], [[p2.n - 1, 9]]], 0); // one aux target: the aux head too
    const k = await OrtKernels.create(1);
    // The answer probe reads the last layer, the question probe layer 0 (two words for one row).
    const probes: HeadProbe[] = [
      { param: READOUT_PROBE, layer: 1, weight: 1, rows: [p1.n - 1, batch.n + p2.n - 1], labels: [4, 9], heads: [1, 0] },
      { param: QUESTION_PROBE, layer: 0, weight: 0.5, rows: [batch.n + p2.n - 1, batch.n + p2.n - 1], labels: [5, 9], heads: [2, 2] },
    ];
    const probeLoss = (fr: Awaited<ReturnType<typeof forward>>) =>
      probes.reduce((s, pr) => s + pr.weight * readoutProbe(fr.layers[pr.layer]!.o, tinyConfig.heads, tinyConfig.headDim, params.get(pr.param)!.data, tinyConfig.vocab, pr, pr.weight, new Float32Array(fr.layers[pr.layer]!.o.length), new Float32Array(params.get(pr.param)!.data.length)).loss, 0);
    const lossOf = async () => {
      const fr = await forward(k, model, batch);
      return crossEntropy(fr.logits, batch.targets, tinyConfig.vocab, 0.5).total + probeLoss(fr);
    };
    const f = await forward(k, model, batch);
    const ce = crossEntropy(f.logits, batch.targets, tinyConfig.vocab, 0.5);
    const grads = zerosLike(params);
    const res = await backward(k, model, batch, f, ce.dlogits, grads, [], probes);
    expect(res.probes.map((r) => r.loss)).toEqual(probes.map((pr) => readoutProbe(f.layers[pr.layer]!.o, tinyConfig.heads, tinyConfig.headDim, params.get(pr.param)!.data, tinyConfig.vocab, pr, 1, new Float32Array(f.layers[pr.layer]!.o.length), new Float32Array(tinyConfig.vocab * tinyConfig.headDim)).loss));
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
    expect(checked).toBe(2 * trainingParamShapes(tinyConfig).length);
  });

  it('attention supervision: its q/k gradient equals finite differences of −log(evidence mass)', () => {
    const rng = new Rng(4);
    const [n, H, d, head] = [7, 3, 4, 1];
    const q = Float32Array.from({ length: 2 * n * H * d }, () => rng.normal());
    const k = Float32Array.from({ length: 2 * n * H * d }, () => rng.normal());
    const rows = [{ row: 5, evidence: [1, 3] }, { row: n + 6, evidence: [n, n + 6] }, { row: n + 2, evidence: [n + 2] }];
    const loss = () => superviseAttention(q, k, n, H, d, head, rows, 1, new Float32Array(q.length), new Float32Array(k.length)).loss;
    const dq = new Float32Array(q.length);
    const dk = new Float32Array(k.length);
    const r = superviseAttention(q, k, n, H, d, head, rows, 1, dq, dk);
    expect(r.loss).toBeGreaterThan(0);
    expect(r.mass).toBeGreaterThan(0);
    expect(r.mass).toBeLessThan(1);
    for (const [x, g] of [[q, dq], [k, dk]] as const) expectCentralDifferences(x, g, loss);
    // Other heads get no gradient; evidence outside the causal window is an error.
    for (let i = 0; i < dq.length; i++) if (Math.floor(i / d) % H !== head) expect(dq[i]).toBe(0);
    expect(() => superviseAttention(q, k, n, H, d, head, [{ row: 2, evidence: [4] }], 1, dq, dk)).toThrow(/outside the causal window/);
  });

  it('uniform attention supervision: gradient equals finite differences; it pins the split that the mass loss leaves free', () => {
    const rng = new Rng(8);
    const [n, H, d, head] = [6, 2, 4, 0];
    const q = Float32Array.from({ length: n * H * d }, () => rng.normal());
    const k = Float32Array.from({ length: n * H * d }, () => rng.normal());
    const rows = [{ row: 5, evidence: [0, 2, 4], uniform: true }, { row: 3, evidence: [0, 3], uniform: true }];
    const loss = () => superviseAttention(q, k, n, H, d, head, rows, 1, new Float32Array(q.length), new Float32Array(k.length)).loss;
    const dq = new Float32Array(q.length);
    const dk = new Float32Array(k.length);
    superviseAttention(q, k, n, H, d, head, rows, 1, dq, dk);
    for (const [x, g] of [[q, dq], [k, dk]] as const) expectCentralDifferences(x, g, loss);
    // Row 2 attends over keys 0..2; keys 0 and 1 score 9, key 2 scores 0. All mass sits on the
    // evidence {0, 1}, so the mass loss is ~0 either way, but only an even split is optimal
    // for the uniform loss (log 2, zero gradient); putting it all on key 0 costs far more.
    const q1 = new Float32Array(3 * d);
    const k1 = new Float32Array(3 * d);
    q1.set([3, 0, 0, 0], 2 * d);
    k1.set([3, 0, 0, 0], 0);
    k1.set([3, 0, 0, 0], d);
    const at = (uniform: boolean) => superviseAttention(q1, k1, 3, 1, d, 0, [{ row: 2, evidence: [0, 1], uniform }], 1, new Float32Array(q1.length), new Float32Array(k1.length));
    expect(at(false).loss).toBeLessThan(1e-3);
    expect(at(true).loss).toBeCloseTo(Math.log(2), 3);
    const g = new Float32Array(k1.length);
    superviseAttention(q1, k1, 3, 1, d, 0, [{ row: 2, evidence: [0, 1], uniform: true }], 1, new Float32Array(q1.length), g);
    expect(Math.abs(g[0]! - g[d]!)).toBeLessThan(1e-6); // balanced: no push between the two evidence keys
    k1.set([5, 0, 0, 0], 0); // key 0 now takes nearly everything
    expect(at(false).loss).toBeLessThan(1e-3);
    expect(at(true).loss).toBeGreaterThan(2.5); // ≈ ½·(15 − 9): the starved key pays its log-odds
  });

  it('readout probe: its gradient equals finite differences of the probe cross-entropy', () => {
    const rng = new Rng(6);
    const [M, H, d, V, head] = [5, 3, 4, 6, 2];
    const o = Float32Array.from({ length: M * H * d }, () => rng.normal());
    const W = Float32Array.from({ length: V * d }, () => rng.normal());
    const rows = { rows: [1, 4, 3], labels: [3, 0, 5], heads: [head, head, 0] };
    const loss = () => readoutProbe(o, H, d, W, V, rows, 1, new Float32Array(o.length), new Float32Array(W.length)).loss;
    const dO = new Float32Array(o.length);
    const dW = new Float32Array(W.length);
    readoutProbe(o, H, d, W, V, rows, 1, dO, dW);
    for (const [x, g] of [[o, dO], [W, dW]] as const) expectCentralDifferences(x, g, loss);
    // Each row reads only its own head.
    const read = new Set(rows.rows.map((r, i) => r * H + rows.heads[i]!));
    for (let i = 0; i < dO.length; i++) if (!read.has(Math.floor(i / d))) expect(dO[i]).toBe(0);
    expect(() => readoutProbe(o, H, d, W, V, { rows: [1], labels: [0], heads: [H] }, 1, dO, dW)).toThrow(/head 3 of row 1 is outside 0..2/);
  });

  it('training sequences supervise answer rows onto the evidence and sound tokens onto their source patch', () => {
    const vocab = makeVocabulary(worldVocabulary());
    const seq = trainSequence(16, 1, 2, vocab, new Rng(3), { aux: true, perFamily: 2 });
    const answers = seq.attention.filter((a) => a.kind === 'answer');
    const binds = seq.attention.filter((a) => a.kind === 'bind');
    expect(answers.length).toBeGreaterThan(0);
    expect(binds.length).toBeGreaterThan(0);
    const answerRows = new Set(seq.targets.filter((t) => !t[2]).map((t) => t[0]));
    for (const a of answers) {
      expect(answerRows.has(a.row)).toBe(true);
      for (const e of a.evidence) expect(e === 0 || seq.encoded.ids[e] === -1).toBe(true);
    }
    for (const b of binds) {
      expect(seq.encoded.modality[b.row]).toBe(ModalityCode.audio);
      expect(b.evidence).toHaveLength(1);
      expect(seq.encoded.modality[b.evidence[0]!]).toBe(ModalityCode.video);
      expect(b.row - b.evidence[0]!).toBeLessThan(26);
    }
  });

  it('motion labels mark the mover\'s patches "moved" exactly in the frames after it left its start', () => {
    const vocab = makeVocabulary(worldVocabulary());
    const moved = vocab.ids.get('moved')!;
    let checked = 0;
    for (let index = 0; index < 12; index++) {
      const plain = trainSequence(16, 1, index, vocab, new Rng(3), { aux: true });
      const labelled = trainSequence(16, 1, index, vocab, new Rng(3), { aux: true, motionLabels: true });
      expect(plain.targets.some((t) => t[2] && t[1] === moved)).toBe(false);
      const rows = labelled.targets.filter((t) => t[2] && t[1] === moved).map((t) => t[0]);
      // The same clip: every other label is unchanged.
      expect(labelled.targets.length - rows.length).toBe(plain.targets.length);
      const clip = clipWithQuestions(withFrames(PRESETS.default, 16), 'train', 1, index, 1).clip;
      const o = clip.scene.objects[clip.scene.mover]!;
      const { gridCols: C, gridRows: R } = clip.preset;
      const expected: number[] = [];
      for (let f = o.start; f < o.end; f++) {
        const i = f - o.start;
        if (o.rows[i] !== o.rows[0] || o.cols[i] !== o.cols[0]) expected.push(labelled.encoded.media.video.pos[(f * R + o.rows[i]!) * C + o.cols[i]!]!);
      }
      expect(rows).toEqual(expected);
      for (const r of rows) expect(labelled.encoded.modality[r]).toBe(ModalityCode.video);
      if (rows.length > 0) checked++;
    }
    expect(checked).toBeGreaterThan(3);
  });

  it('absent evidence: an object-exists "no" answer row is supervised onto <s> or itself, a "yes" one onto the object (with <s>, evenly, when counting)', () => {
    const vocab = makeVocabulary(worldVocabulary());
    const no = vocab.ids.get('no')!;
    const yes = vocab.ids.get('yes')!;
    const seen = { no: 0, yes: 0 };
    for (let index = 0; index < 12; index++) {
      const make = (absent: AbsentEvidence) => trainSequence(12, 1, index, vocab, new Rng(5, index), { aux: true, perFamily: 3, only: ['object-exists'], absent });
      const rowsOf = (s: ReturnType<typeof make>) => new Map(s.attention.filter((a) => a.kind === 'answer').map((a) => [a.row, a]));
      const [plain, sink, self, count] = (['none', 'sink', 'self', 'count'] as const).map((m) => rowsOf(make(m)));
      const seq = make('self');
      for (const [row, label] of seq.targets.filter((t) => !t[2])) {
        for (const m of [sink, self, count]) expect(m.get(row)!.family).toBe('object-exists');
        expect(count.get(row)!.uniform).toBe(true);
        expect(sink.get(row)!.uniform).toBe(false);
        if (label === no) {
          expect(plain.has(row)).toBe(false); // no evidence, no supervision by default
          expect(sink.get(row)!.evidence).toEqual([0]);
          expect(self.get(row)!.evidence).toEqual([row]);
          expect(count.get(row)!.evidence).toEqual([0]);
          seen.no++;
        } else {
          expect(label).toBe(yes);
          for (const m of [sink, self]) expect(m.get(row)!.evidence).toEqual(plain.get(row)!.evidence);
          expect(count.get(row)!.evidence).toEqual([...plain.get(row)!.evidence, 0]);
          expect(plain.get(row)!.evidence.every((e) => modalityAt(seq, e) === ModalityCode.video)).toBe(true);
          seen.yes++;
        }
      }
    }
    expect(seen.no).toBeGreaterThan(0);
    expect(seen.yes).toBeGreaterThan(0);
  });

  it('exists by colour: the answer row reads every object of the asked colour (<s> if none) and the probe is taught the shape retrieved', () => {
    const vocab = makeVocabulary(worldVocabulary());
    const word = (id: number) => vocab.words[id]!;
    const seen = { yes: 0, noPartial: 0, noColour: 0 };
    for (let index = 0; index < 16; index++) {
      const seq = trainSequence(12, 1, index, vocab, new Rng(6, index), { aux: true, perFamily: 2, existsBy: 'colour' });
      const plain = trainSequence(12, 1, index, vocab, new Rng(6, index), { aux: true, perFamily: 2 });
      const answers = seq.targets.filter((t) => !t[2]);
      expect(seq.probeLabels).toHaveLength(answers.length);
      // Dense labels say what each patch shows: its colour and shape words.
      const shown = new Map<number, string[]>();
      for (const [row, label, aux] of seq.targets) if (aux && modalityAt(seq, row) === ModalityCode.video) shown.set(row, [...(shown.get(row) ?? []), word(label)]);
      answers.forEach(([row, label], i) => {
        if (seq.families[i] !== 'object-exists') {
          expect(seq.probeLabels[i]).toBe(label);
          expect(seq.askedWords[i]!.length).toBeLessThanOrEqual(2);
          for (const w of seq.askedWords[i]!) expect([...SOUNDS, ...COLOURS, ...SHAPES]).toContain(word(w));
          expect(seq.attention.find((a) => a.kind === 'answer' && a.row === row)).toEqual(plain.attention.find((a) => a.kind === 'answer' && a.row === row));
          return;
        }
        const words = Array.from(seq.encoded.ids.slice(0, row), word);
        const [colour, shape] = words.slice(-2) as [string, string];
        expect(COLOURS).toContain(colour);
        expect(SHAPES).toContain(shape);
        expect(seq.askedWords[i]!.map(word)).toEqual([colour, shape]); // what the question probe asks for
        const target = seq.attention.find((a) => a.kind === 'answer' && a.row === row)!;
        const ofColour = [...shown].filter(([, w]) => w.includes(colour)).map(([r]) => r);
        const probe = word(seq.probeLabels[i]!);
        if (ofColour.length === 0) {
          expect(target.evidence).toEqual([0]);
          expect(probe).toBe('no');
          expect(word(label)).toBe('no');
          seen.noColour++;
          return;
        }
        expect([...target.evidence].sort((a, b) => a - b)).toEqual(ofColour.sort((a, b) => a - b));
        expect(target.uniform).toBeFalsy();
        expect(ofColour.some((r) => shown.get(r)!.includes(probe))).toBe(true);
        if (word(label) === 'yes') {
          expect(probe).toBe(shape);
          seen.yes++;
        } else {
          expect(probe).not.toBe(shape);
          seen.noPartial++;
        }
      });
    }
    expect(seen.yes).toBeGreaterThan(0);
    expect(seen.noPartial).toBeGreaterThan(0);
    expect(seen.noColour).toBeGreaterThan(0);
  });

  it('uniformQuestion spreads the question head over every content word (the mass loss is met by the family word alone)', () => {
    const vocab = makeVocabulary(worldVocabulary());
    for (let index = 0; index < 4; index++) {
      const make = (uniformQuestion: boolean) => trainSequence(8, 1, index, vocab, new Rng(3, index), { aux: true, uniformQuestion }).attention.filter((a) => a.kind === 'question');
      const [mass, even] = [make(false), make(true)];
      expect(even.map((a) => a.evidence)).toEqual(mass.map((a) => a.evidence));
      expect(even.length).toBeGreaterThan(0);
      for (const a of even) expect(a.uniform).toBe(true);
      for (const a of mass) expect(a.uniform).toBe(false);
    }
  });

  it('familyQuestions poses more questions of one family per clip and keeps the others at perFamily', () => {
    const vocab = makeVocabulary(worldVocabulary());
    let more = 0;
    for (let index = 0; index < 6; index++) {
      const count = (s: ReturnType<typeof trainSequence>) => (f: string) => s.families.filter((x) => x === f).length;
      const base = count(trainSequence(16, 1, index, vocab, new Rng(4, index), { perFamily: 1 }));
      const boosted = count(trainSequence(16, 1, index, vocab, new Rng(4, index), { perFamily: 1, familyQuestions: { 'object-exists': 8 } }));
      for (const f of ['av-visible', 'sound-order', 'sound-count', 'moved-object', 'sound-source']) expect(boosted(f)).toBeLessThanOrEqual(1);
      expect(boosted('object-exists')).toBeGreaterThanOrEqual(base('object-exists'));
      expect(boosted('object-exists')).toBeLessThanOrEqual(8);
      more += boosted('object-exists') - base('object-exists');
    }
    expect(more).toBeGreaterThan(6);
  });

  it('counting questions read their onsets against <s>: evenly with uniformCount, by total mass without', () => {
    const vocab = makeVocabulary(worldVocabulary());
    let seen = 0;
    for (let index = 0; index < 8; index++) {
      const make = (uniformCount: boolean) => trainSequence(16, 1, index, vocab, new Rng(2, index), { aux: true, only: ['sound-count'], uniformCount });
      const [mass, even] = [make(false), make(true)].map((s) => s.attention.filter((a) => a.kind === 'answer'));
      expect(even!.map((a) => a.evidence)).toEqual(mass!.map((a) => a.evidence));
      for (const a of even!) {
        expect(a.uniform).toBe(true);
        expect(a.evidence).toContain(0);
        expect(a.evidence.filter((e) => e !== 0).every((e) => modalityAt({ encoded: make(true).encoded }, e) === ModalityCode.audio)).toBe(true);
        seen++;
      }
      for (const a of mass!) expect(a.uniform).toBe(false);
    }
    expect(seen).toBeGreaterThan(0);
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
    const model = { config, params: initParams(config, () => rng.normal(), { auxHead: true }) };
    const words = worldVocabulary();
    saveOrganism(dir, model, words, '# card\n');
    const back = loadOrganism(dir);
    expect(back.model.config).toEqual(config);
    for (const [name, t] of model.params) {
      if (name === AUX_HEAD) expect(back.model.params.has(name)).toBe(false); // training-only
      else expect(Array.from(back.model.params.get(name)!.data)).toEqual(Array.from(t.data));
    }
    const hf = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(hf.model_type).toBe('llama');
    expect(hf.kvprism.projectors.video.feature_dim).toBe(config.videoFeatureDim);
    const tok = new Tokenizer(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')), JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')));
    for (const w of [...SHAPES, ...COLOURS, ...SOUNDS, ...COUNTS, ...YES_NO]) expect(tok.encode(w).ids).toEqual([words.indexOf(w)]);
    expect(tok.encode('question which shape made the buzz sound answer').ids).toHaveLength(8);
  });
});
