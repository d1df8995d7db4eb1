/**
 * The explicit `positions` field of prompt segments and JSONL pieces: given ids are used as
 * they are, the next segment continues from 1 + their largest id, ropeNext is 1 + the largest
 * id of the prompt, and bad ids are errors naming the segment.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { embedPrompt } from '../../../src/model/embed-prompt.js';
import { initModel } from '../../../src/model/init-model.js';
import { loadModel } from '../../../src/model/model.js';
import { loadJsonlDataset } from '../../../src/runner/jsonl-dataset.js';

const tmp = mkdtempSync(join(tmpdir(), 'kvprism-positions-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
initModel({ preset: 'tiny-qwen2-vl', out: join(tmp, 'vl'), seed: 1 });
initModel({ preset: 'tiny-qwen2', out: join(tmp, 'plain'), seed: 1 });
const vl = loadModel(join(tmp, 'vl'));
const plain = loadModel(join(tmp, 'plain'));
const H = vl.config.hiddenSize;

describe('explicit positions in embedPrompt', () => {
  it('[3][n] and [n] ids are used as given; the next segment starts after the largest', () => {
    const e = embedPrompt(vl, {
      addBos: false,
      segments: [
        { kind: 'tokens', ids: [65, 66], positions: Int32Array.from([0, 1]) },
        { kind: 'embeddings', modality: 'image', n: 2, data: new Float32Array(2 * H), positions: Int32Array.from([2, 2, 2, 9, 2, 3]) },
        { kind: 'tokens', ids: [67] },
      ],
    });
    const n = e.n;
    const at = (i: number): number[] => [e.ropePos[i]!, e.ropePos[n + i]!, e.ropePos[2 * n + i]!];
    expect(at(1)).toEqual([1, 1, 1]);
    expect(at(2)).toEqual([2, 2, 2]);
    expect(at(3)).toEqual([2, 9, 3]);
    expect(at(4)).toEqual([10, 10, 10]);
    expect(e.ropeNext).toBe(11);
    expect(Array.from(e.meta.position)).toEqual([0, 1, 2, 3, 4]);
  });

  it('an empty segment with empty positions leaves the running position alone', () => {
    const e = embedPrompt(vl, { addBos: false, segments: [{ kind: 'tokens', ids: [65] }, { kind: 'tokens', ids: [], positions: new Int32Array(0) }, { kind: 'tokens', ids: [66] }] });
    expect(Array.from(e.ropePos.subarray(0, 2))).toEqual([0, 1]);
    expect(e.ropeNext).toBe(2);
  });

  it('ropeNext is 1 + the largest id even when the last segment ends lower', () => {
    const e = embedPrompt(vl, { addBos: false, segments: [{ kind: 'tokens', ids: [65, 66], positions: Int32Array.from([7, 3]) }] });
    expect(e.ropeNext).toBe(8);
  });

  it('text segments take positions after tokenizing; 1-D models take [n]', () => {
    const e = embedPrompt(plain, { addBos: false, segments: [{ kind: 'text', text: 'ab', positions: Int32Array.from([4, 5]) }] });
    expect(Array.from(e.ropePos)).toEqual([4, 5]);
  });

  it('wrong lengths and negative ids are errors naming the segment', () => {
    const seg = (positions: Int32Array) => ({ addBos: false, segments: [{ kind: 'tokens' as const, ids: [65, 66], positions }] });
    expect(() => embedPrompt(vl, seg(Int32Array.from([1, 2, 3])))).toThrow('prompt.segments[0] (tokens).positions: has 3 ids; expected [n] = 2 or [3][n] = 6');
    expect(() => embedPrompt(plain, seg(Int32Array.from([1, 2, 3, 4, 5, 6])))).toThrow('has 6 ids; expected [n] = 2 for this segment');
    expect(() => embedPrompt(vl, seg(Int32Array.from([0, -1])))).toThrow('prompt.segments[0] (tokens).positions[1] is -1; expected a whole number ≥ 0');
  });
});

describe('JSONL positions', () => {
  const write = (name: string, prompt: unknown): string => {
    const file = join(tmp, name);
    writeFileSync(join(tmp, 'img.f32'), Buffer.from(new Float32Array(2 * H).buffer));
    writeFileSync(file, JSON.stringify({ id: 'a', prompt, choices: ['x', 'y'], answer: 0 }) + '\n');
    return file;
  };

  it('[n] and [3][n] pieces load as Int32Array ids ([3][n] axis-major)', () => {
    const file = write('ok.jsonl', [
      { text: 'ab', positions: [0, 1] },
      { modality: 'image', embeddings: 'img.f32', n: 2, positions: [[2, 2], [2, 3], [2, 4]] },
    ]);
    const [s] = loadJsonlDataset(file);
    expect(Array.from(s!.prompt.segments[0]!.positions!)).toEqual([0, 1]);
    expect(Array.from(s!.prompt.segments[1]!.positions!)).toEqual([2, 2, 2, 3, 2, 4]);
    expect(embedPrompt(vl, s!.prompt).ropeNext).toBe(5);
  });

  it('counts that do not match the piece, uneven rows and fractions are errors naming file:line and the piece', () => {
    const short = write('short.jsonl', [{ tokens: [65, 66], positions: [0] }]);
    expect(() => loadJsonlDataset(short)).toThrow(`${short}:1: prompt[0].positions: gives ids for 1 tokens; expected 2`);
    const uneven = write('uneven.jsonl', [{ modality: 'image', embeddings: 'img.f32', n: 2, positions: [[0, 1], [0], [0, 1]] }]);
    expect(() => loadJsonlDataset(uneven)).toThrow(`${uneven}:1: prompt[0].positions: the three rows have lengths 2, 1, 2`);
    const frac = write('frac.jsonl', [{ tokens: [65], positions: [0.5] }]);
    expect(() => loadJsonlDataset(frac)).toThrow(`${frac}:1:`);
  });
});
