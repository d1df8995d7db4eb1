import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DatasetSource } from '../../src/runner/dataset-source.js';
import { loadJsonlDataset } from '../../src/runner/jsonl-dataset.js';
import { LazyJsonlDataset } from '../../src/runner/lazy-jsonl.js';
import { scanLines } from '../../src/runner/jsonl-lines.js';

function workDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kvprism-lazy-'));
  mkdirSync(join(dir, 'emb'));
  return dir;
}

/** `count` samples, sample i with a 2 × 3 raw f32 span filled with i. */
function writeDataset(dir: string, count: number, extra: string[] = []): string {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    writeFileSync(join(dir, 'emb', `s${i}.f32`), new Uint8Array(new Float32Array(6).fill(i).buffer));
    lines.push(JSON.stringify({ id: `s${i}`, family: i % 2 ? 'odd' : 'even', prompt: [{ text: 'x' }, { modality: 'image', embeddings: `emb/s${i}.f32`, n: 2 }], choices: ['a', 'b'], answer: i % 2 }));
  }
  const f = join(dir, 'qa.jsonl');
  writeFileSync(f, [...lines, ...extra].join('\n'));
  return f;
}

const spanData = (s: { prompt: { segments: readonly { kind: string }[] } }): number[] => {
  const seg = s.prompt.segments[1]! as { kind: string; data?: Float32Array };
  return Array.from(seg.data!);
};

describe('lazy JSONL datasets', () => {
  it('indexes ids and small fields up front and reads a sample’s files only when its prompt is asked for', () => {
    const dir = workDir();
    const f = writeDataset(dir, 4);
    const ds = LazyJsonlDataset.open(f);
    expect(ds.size).toBe(4);
    const samples = ds.samples();
    expect(samples.map((s) => [s.id, s.family, s.answer])).toEqual([['s0', 'even', 0], ['s1', 'odd', 1], ['s2', 'even', 0], ['s3', 'odd', 1]]);
    expect(ds.loads).toBe(0);
    // The file is read at access time: rewrite sample 2's span after indexing.
    writeFileSync(join(dir, 'emb', 's2.f32'), new Uint8Array(new Float32Array(6).fill(7).buffer));
    expect(spanData(samples[2]!)).toEqual([7, 7, 7, 7, 7, 7]);
    expect(ds.loads).toBe(1);
    // Repeated access to the current sample reuses it; another sample replaces it.
    expect(samples[2]!.prompt).toBe(samples[2]!.prompt);
    expect(ds.loads).toBe(1);
    expect(spanData(samples[1]!)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(ds.loads).toBe(2);
    expect(spanData(samples[2]!)).toEqual([7, 7, 7, 7, 7, 7]);
    expect(ds.loads).toBe(3);
    // A spread copy still carries the prompt.
    expect({ ...samples[0]! }.prompt.segments).toHaveLength(2);
  });

  it('builds the same samples as the eager loader', () => {
    const f = writeDataset(workDir(), 3);
    const eager = loadJsonlDataset(f);
    const lazy = LazyJsonlDataset.open(f).samples();
    for (let i = 0; i < 3; i++) {
      expect(lazy[i]!.prompt).toEqual(eager[i]!.prompt);
      expect({ ...lazy[i]!, prompt: null }).toEqual({ ...eager[i]!, prompt: null });
    }
  });

  it('reports a bad line before any sample is built, naming file:line and the field', () => {
    const dir = workDir();
    const bad = JSON.stringify({ id: 'z', prompt: [{ modality: 'image', embeddings: 'emb/missing.f32', n: 2 }], choices: ['a', 'b'], answer: 0 });
    const f = writeDataset(dir, 3, [bad]);
    expect(() => LazyJsonlDataset.open(f)).toThrow(`${f}:4: prompt[0].embeddings: embedding file "${join(dir, 'emb', 'missing.f32')}" not found`);
    // Sizes are checked at index time too, without reading the data.
    writeFileSync(join(dir, 'emb', 's1.f32'), new Uint8Array(20));
    expect(() => LazyJsonlDataset.open(f, 3)).toThrow(`${f}:2: prompt[1]: ${join(dir, 'emb', 's1.f32')} holds 5 floats, not a whole number of 2 rows`);
    // A limit stops the index (and its checks) at that many samples.
    expect(LazyJsonlDataset.open(f, 1).size).toBe(1);
  });

  it('a file that shrinks after indexing is an error naming file:line, not garbage', () => {
    const dir = workDir();
    const f = writeDataset(dir, 2);
    const ds = LazyJsonlDataset.open(f);
    writeFileSync(join(dir, 'emb', 's1.f32'), new Uint8Array(12));
    expect(() => ds.load(1)).toThrow(`${f}:2: prompt[1]: ${join(dir, 'emb', 's1.f32')} holds 3 floats, not a whole number of 2 rows`);
    writeFileSync(f, '');
    expect(() => ds.load(0)).toThrow(`${f}:1: the file is shorter than when it was indexed`);
  });

  it('DatasetSource serves JSONL samples lazily and keeps the same objects per run', async () => {
    const dir = workDir();
    writeDataset(dir, 3);
    const src = new DatasetSource({ kind: 'jsonl', path: 'qa.jsonl' }, dir);
    const a = await src.samples(2, 0);
    expect(a.map((s) => s.id)).toEqual(['s0', 's1']);
    expect(spanData(a[1]!)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(await src.samples(2, 5)).toBe(a);
    await expect(src.samples(5, 0)).rejects.toThrow('asked for samples: 5, but it holds only 3');
  });

  it('scans lines across read chunks with their byte offsets (multi-byte text, CRLF, no final newline)', () => {
    const dir = workDir();
    const long = 'é'.repeat(700_000); // 1.4 MB: the line crosses a 1 MiB chunk boundary
    const f = join(dir, 'lines.txt');
    writeFileSync(f, `ab\r\n${long}\n\nlast`);
    const seen: [string, number, number, number][] = [];
    scanLines(f, (text, s) => (seen.push([text.length > 10 ? `long:${text.length}` : text, s.lineNo, s.offset, s.bytes]), true));
    expect(seen).toEqual([
      ['ab\r', 1, 0, 3],
      ['long:700000', 2, 4, 1_400_000],
      ['', 3, 1_400_005, 0],
      ['last', 4, 1_400_006, 4],
    ]);
  });
});
