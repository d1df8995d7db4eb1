import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/model/safetensors.js';
import { writeSafetensors } from '../../src/model/safetensors-write.js';
import { loadJsonlDataset } from '../../src/runner/jsonl-dataset.js';
import { f32ToBf16, f32ToF16 } from '../../src/util/half.js';

/** Values exact in f16 and bf16 alike, so every dtype must decode to them bit for bit. */
const VALUES = [0.5, -2, 1.25, 3, -0.75, 8];

function tensorOf(dtype: Tensor['dtype'], shape: number[], values = VALUES): Tensor {
  const data = dtype === 'F32' ? Float32Array.from(values) : Uint16Array.from(values, dtype === 'F16' ? f32ToF16 : f32ToBf16);
  return { dtype, shape, data };
}

/** A one-sample dataset whose piece reads `file` (written by `write`). */
function dataset(piece: Record<string, unknown>, write: (dir: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'kvprism-st-'));
  mkdirSync(join(dir, 'emb'));
  write(dir);
  const f = join(dir, 'qa.jsonl');
  writeFileSync(f, JSON.stringify({ id: 'a', prompt: [{ text: 'x' }, piece], choices: ['p', 'q'], answer: 0 }));
  return f;
}

const spanOf = (f: string) => {
  const seg = loadJsonlDataset(f)[0]!.prompt.segments[1]!;
  if (seg.kind !== 'embeddings' && seg.kind !== 'features') throw new Error('not a span');
  return seg;
};

describe('safetensors embedding files', () => {
  for (const dtype of ['F32', 'F16', 'BF16'] as const) {
    it(`an embeddings piece reads a ${dtype} tensor [n][dim] as f32`, () => {
      const f = dataset({ modality: 'video', embeddings: 'emb/v.safetensors', n: 2 }, (d) => writeSafetensors(join(d, 'emb/v.safetensors'), new Map([['emb', tensorOf(dtype, [2, 3])]])));
      const seg = spanOf(f);
      expect(seg.n).toBe(2);
      expect(Array.from(seg.data)).toEqual(VALUES);
    });
  }

  it('a features piece takes n from the shape and checks featureDim; "tensor" picks one of several', () => {
    const write = (d: string) => writeSafetensors(join(d, 'emb/a.safetensors'), new Map([['audio', tensorOf('BF16', [3, 2])], ['other', tensorOf('F32', [1, 6])]]));
    const seg = spanOf(dataset({ modality: 'audio', features: 'emb/a.safetensors', featureDim: 2, tensor: 'audio' }, write));
    expect(seg.kind === 'features' && [seg.n, seg.featureDim]).toEqual([3, 2]);
    expect(Array.from(seg.data)).toEqual(VALUES);
    const several = dataset({ modality: 'audio', features: 'emb/a.safetensors', featureDim: 2 }, write);
    expect(() => loadJsonlDataset(several)).toThrow(/qa\.jsonl:1: prompt\[1\]\.features: .*a\.safetensors holds 2 tensors \(audio, other\); name one with "tensor"/);
    const absent = dataset({ modality: 'audio', features: 'emb/a.safetensors', featureDim: 2, tensor: 'vid' }, write);
    expect(() => loadJsonlDataset(absent)).toThrow(/qa\.jsonl:1: prompt\[1\]\.features\.tensor: .* has no tensor "vid" \(it holds audio, other\)/);
  });

  it('a shape that disagrees with n / featureDim, or is not 2-D, names the file and both shapes', () => {
    const write = (d: string) => writeSafetensors(join(d, 'emb/v.safetensors'), new Map([['t', tensorOf('F16', [3, 2])]]));
    expect(() => loadJsonlDataset(dataset({ modality: 'video', embeddings: 'emb/v.safetensors', n: 2 }, write))).toThrow(
      /qa\.jsonl:1: prompt\[1\]\.embeddings: tensor "t" of .*v\.safetensors has shape \[3, 2\]; expected \[2\]\[hidden\] \(n = 2\)/,
    );
    expect(() => loadJsonlDataset(dataset({ modality: 'video', features: 'emb/v.safetensors', featureDim: 3 }, write))).toThrow(
      /has shape \[3, 2\]; expected \[n\]\[3\] \(featureDim = 3\)/,
    );
    const flat = (d: string) => writeSafetensors(join(d, 'emb/v.safetensors'), new Map([['t', tensorOf('F32', [6])]]));
    expect(() => loadJsonlDataset(dataset({ modality: 'video', embeddings: 'emb/v.safetensors', n: 6 }, flat))).toThrow(/has shape \[6\]; expected a 2-D shape \[n\]\[dim\]/);
  });

  it('truncated or lying files get the safetensors reader’s error, naming the JSONL line and the file', () => {
    const truncated = dataset({ modality: 'video', embeddings: 'emb/v.safetensors', n: 2 }, (d) => {
      const p = join(d, 'emb/v.safetensors');
      writeSafetensors(p, new Map([['t', tensorOf('F32', [2, 3])]]));
      const bytes = readFileSync(p);
      writeFileSync(p, bytes.subarray(0, bytes.length - 5));
    });
    expect(() => loadJsonlDataset(truncated)).toThrow(/qa\.jsonl:1: prompt\[1\]\.embeddings: .*v\.safetensors: tensor "t": data_offsets \[0, 24\] reach past the data section \(19 bytes; file truncated\?\)/);
    const lying = dataset({ modality: 'video', embeddings: 'emb/v.safetensors', n: 2 }, (d) => {
      const json = Buffer.from(JSON.stringify({ t: { dtype: 'F16', shape: [2, 3], data_offsets: [0, 24] } }));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(json.length));
      writeFileSync(join(d, 'emb/v.safetensors'), Buffer.concat([len, json, Buffer.alloc(24)]));
    });
    expect(() => loadJsonlDataset(lying)).toThrow(/v\.safetensors: tensor "t": holds 24 bytes but shape \[2, 3\] × F16 \(2 B\) needs 12/);
    const notSt = dataset({ modality: 'video', embeddings: 'emb/v.safetensors', n: 2 }, (d) => writeFileSync(join(d, 'emb/v.safetensors'), 'hello'));
    expect(() => loadJsonlDataset(notSt)).toThrow(/prompt\[1\]\.embeddings: .*v\.safetensors: file is 5 bytes; a safetensors file starts with an 8-byte header length/);
    const dirInstead = dataset({ modality: 'video', embeddings: 'emb', n: 2 }, () => undefined);
    expect(() => loadJsonlDataset(dirInstead)).toThrow(/prompt\[1\]\.embeddings: ".*emb" is a directory; expected a raw little-endian f32 file/);
  });

  it('"tensor" on a raw f32 file is refused', () => {
    const f = dataset({ modality: 'video', embeddings: 'emb/v.f32', n: 2, tensor: 't' }, (d) => writeFileSync(join(d, 'emb/v.f32'), new Uint8Array(24)));
    expect(() => loadJsonlDataset(f)).toThrow(/prompt\[1\]\.embeddings: "tensor" names a tensor of a \.safetensors file, but .*v\.f32" is a raw f32 file/);
  });
});
