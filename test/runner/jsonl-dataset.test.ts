import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadJsonlDataset } from '../../src/runner/jsonl-dataset.js';

const bundled = fileURLToPath(new URL('../../datasets/samples/tiny-stories-qa.jsonl', import.meta.url));

function dataset(lines: unknown[], files: Record<string, Float32Array> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'kvprism-ds-'));
  mkdirSync(join(dir, 'emb'));
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), Buffer.from(data.buffer));
  const f = join(dir, 'qa.jsonl');
  writeFileSync(f, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n'));
  return f;
}

describe('JSONL datasets', () => {
  it('loads the bundled samples, text and embedding spans alike', () => {
    const all = loadJsonlDataset(bundled);
    expect(all.length).toBeGreaterThanOrEqual(16);
    const span = all.find((s) => s.id === 'ts-15')!;
    const seg = span.prompt.segments[1]!;
    expect(seg.kind).toBe('embeddings');
    if (seg.kind !== 'embeddings') return;
    expect(seg.modality).toBe('image');
    expect(seg.data.length).toBe(seg.n * 64); // stories260K hidden size
    expect(Array.from(seg.row!)).toHaveLength(seg.n);
    expect(loadJsonlDataset(bundled, 3).map((s) => s.id)).toEqual(['ts-01', 'ts-02', 'ts-03']);
  });

  it('feature spans infer their length from the file and featureDim', () => {
    const f = dataset([{ id: 'a', prompt: [{ text: 'x' }, { modality: 'audio', features: 'emb/a.f32', featureDim: 3 }], choices: ['p', 'q'], answer: 1 }], {
      'emb/a.f32': new Float32Array(12).map((_, i) => i),
    });
    const seg = loadJsonlDataset(f)[0]!.prompt.segments[1]!;
    expect(seg.kind === 'features' && seg.n).toBe(4);
  });

  it('errors name the file, the line and the field', () => {
    const ok = { id: 'a', prompt: 'hi', choices: ['x', 'y'], answer: 0 };
    expect(() => loadJsonlDataset(dataset([ok, { ...ok, id: 'b', answer: 2 }]))).toThrow(/qa\.jsonl:2: answer: .*answer must index into choices/);
    expect(() => loadJsonlDataset(dataset([ok, '{oops']))).toThrow(/qa\.jsonl:2: not JSON/);
    expect(() => loadJsonlDataset(dataset([ok, ok]))).toThrow(/qa\.jsonl:2: id "a" appears twice/);
    expect(() => loadJsonlDataset(dataset([{ ...ok, prompt: [{ modality: 'image', embeddings: 'emb/none.f32', n: 2 }] }]))).toThrow(/qa\.jsonl:1: prompt\[0\]\.embeddings: embedding file .* not found/);
    const f = dataset([{ ...ok, prompt: [{ modality: 'image', embeddings: 'emb/e.f32', n: 3 }] }], { 'emb/e.f32': new Float32Array(10) });
    expect(() => loadJsonlDataset(f)).toThrow(/holds 10 floats, not a whole number of 3 rows/);
    const t = dataset([{ ...ok, prompt: [{ modality: 'audio', embeddings: 'emb/e.f32', n: 2, time: [0] }] }], { 'emb/e.f32': new Float32Array(4) });
    expect(() => loadJsonlDataset(t)).toThrow(/time: has 1 entries; expected one per token \(2\)/);
  });
});
