/**
 * Multimodal prompts on a random-weight Qwen2-VL-shaped backbone written by init-model:
 * metadata and mrope positions of spans, the feature projector, and errors for bad spans.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { referenceLinear } from '../../src/attention/reference-ops.js';
import { ModalityCode } from '../../src/cache/modality.js';
import { Decoder } from '../../src/model/decoder.js';
import { embedPrompt } from '../../src/model/embed-prompt.js';
import { initModel } from '../../src/model/init-model.js';
import { loadModel, type Model } from '../../src/model/model.js';
import type { Prompt } from '../../src/model/prompt.js';

const tmp = mkdtempSync(join(tmpdir(), 'kvprism-prompt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
initModel({ preset: 'tiny-qwen2-vl', out: join(tmp, 'vl'), projectors: { audio: 12 }, seed: 3 });
const vl = loadModel(join(tmp, 'vl'));
const H = vl.config.hiddenSize;

const image = (n: number, rows: number[], cols: number[]): Prompt['segments'][number] => ({
  kind: 'embeddings',
  modality: 'image',
  n,
  data: Float32Array.from({ length: n * H }, (_, i) => Math.sin(i) * 0.05),
  row: Int16Array.from(rows),
  col: Int16Array.from(cols),
});

describe('embedPrompt', () => {
  it('fills modality, segment, grid and positions; mrope ids follow time/row/col', () => {
    const text = vl.tokenizer.encode('ab');
    const p = embedPrompt(vl, {
      segments: [
        { kind: 'text', text: 'ab' },
        image(6, [0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2]),
        { kind: 'tokens', ids: [65] },
        { kind: 'embeddings', modality: 'video', n: 3, segment: 7, data: new Float32Array(3 * H), time: Float32Array.from([10, 10.5, 11]) },
      ],
    });
    expect(vl.tokenizer.addsBos).toBe(false);
    expect(p.n).toBe(text.length + 6 + 1 + 3);
    const t0 = text.length;
    expect(Array.from(p.meta.position)).toEqual(Array.from({ length: p.n }, (_, i) => i));
    expect(p.meta.modality[0]).toBe(ModalityCode.text);
    expect(p.meta.modality[t0]).toBe(ModalityCode.image);
    expect(p.meta.segment[t0]).toBe(0);
    expect(p.meta.segment[0]).toBe(-1);
    expect(p.meta.row[t0 + 4]).toBe(1);
    expect(p.meta.col[t0 + 4]).toBe(1);
    expect(p.meta.segment[t0 + 7]).toBe(7);
    expect(p.meta.time[t0 + 8]).toBeCloseTo(10.5);
    expect(Array.from(p.ids.subarray(0, t0))).toEqual(text);
    expect(p.ids[t0]).toBe(-1);
    const n = p.n;
    const axis = (a: number, i: number): number => p.ropePos[a * n + i]!;
    // image: t = st, h = st + row, w = st + col with st = t0; the next text id is st + 3.
    expect([axis(0, t0 + 5), axis(1, t0 + 5), axis(2, t0 + 5)]).toEqual([t0, t0 + 1, t0 + 2]);
    const afterImage = t0 + 3;
    expect([axis(0, t0 + 6), axis(1, t0 + 6), axis(2, t0 + 6)]).toEqual([afterImage, afterImage, afterImage]);
    // video without grid: t = h = w = st + round((time − 10) × 2 ids/s).
    const st = afterImage + 1;
    expect([0, 1, 2].map((i) => axis(0, t0 + 7 + i))).toEqual([st, st + 1, st + 2]);
    expect(p.ropeNext).toBe(st + 3);
  });

  it('projects features through linear_1 → GELU(tanh) → linear_2', () => {
    const F = 12;
    const feats = Float32Array.from({ length: 2 * F }, (_, i) => Math.cos(i) * 0.7);
    const p = embedPrompt(vl, { segments: [{ kind: 'features', modality: 'audio', n: 2, featureDim: F, data: feats }], addBos: false });
    const w = vl.weights.projectors.audio!;
    const h1 = referenceLinear(feats, 2, w.linear1, w.bias1);
    const g = h1.map((x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))));
    const want = referenceLinear(g, 2, w.linear2, w.bias2);
    for (let i = 0; i < want.length; i++) expect(p.x[i]).toBeCloseTo(want[i]!, 5);
    expect(p.meta.modality[0]).toBe(ModalityCode.audio);
  });

  it('rejects bad spans naming the segment and the field', () => {
    expect(() => embedPrompt(vl, { segments: [{ kind: 'embeddings', modality: 'image', n: 2, data: new Float32Array(3) }] })).toThrow(
      /prompt\.segments\[0\] \(embeddings, image\): data holds 3 values; expected n×hidden = 2×32/,
    );
    expect(() => embedPrompt(vl, { segments: [{ kind: 'features', modality: 'image', n: 1, featureDim: 4, data: new Float32Array(4) }] })).toThrow(/no projector for modality "image" \(config\.json kvprism\.projectors has audio\)/);
    expect(() => embedPrompt(vl, { segments: [{ kind: 'features', modality: 'audio', n: 1, featureDim: 4, data: new Float32Array(4) }] })).toThrow(/featureDim 4; the projector expects 12/);
    expect(() => embedPrompt(vl, { segments: [{ kind: 'embeddings', modality: 'image', n: 1, data: new Float32Array(H), row: new Int16Array(2) }] })).toThrow(/row has length 2; expected n = 1/);
    expect(() => embedPrompt(vl, { segments: [{ kind: 'tokens', ids: [100000] }] })).toThrow(/token id 100000 is outside the vocabulary/);
    expect(() => embedPrompt(vl, { segments: [] })).toThrow(/prompt is empty/);
  });
});

describe('mrope in the decoder', () => {
  function lastLogits(m: Model, prompt: Prompt, extra: number[]): Float32Array {
    const dec = new Decoder(m);
    const seq = dec.open();
    let logits = dec.prefill(seq, embedPrompt(m, prompt));
    for (const t of extra) logits = dec.decodeOne(seq, t);
    return logits.slice();
  }

  it('on text alone equals 1-D RoPE (all three ids agree)', () => {
    const flat: Model = { ...vl, config: { ...vl.config, rope: { ...vl.config.rope, mropeSection: null } } };
    const prompt: Prompt = { segments: [{ kind: 'text', text: 'hello there' }] };
    const a = lastLogits(vl, prompt, [70, 71]);
    const b = lastLogits(flat, prompt, [70, 71]);
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i]!, 5);
  });

  it('continues text after an image span from the span-derived position, not the sequence index', () => {
    const dec = new Decoder(vl);
    const seq = dec.open();
    const p = embedPrompt(vl, { segments: [{ kind: 'text', text: 'a' }, image(6, [0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2])] });
    dec.prefill(seq, p);
    expect(seq.length).toBe(7);
    expect(seq.ropeNext).toBe(1 + 3);
    const withGrid = dec.decodeOne(seq, 70).slice();
    const flat: Model = { ...vl, config: { ...vl.config, rope: { ...vl.config.rope, mropeSection: null } } };
    const other = lastLogits(flat, { segments: [{ kind: 'text', text: 'a' }, image(6, [0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2])] }, [70]);
    expect(withGrid.some((x, i) => Math.abs(x - other[i]!) > 1e-4)).toBe(true);
  });
});
