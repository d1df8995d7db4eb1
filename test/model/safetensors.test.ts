import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Checkpoint, SafetensorsFile } from '../../src/model/safetensors.js';
import { writeSafetensors } from '../../src/model/safetensors-write.js';
import { loadModel } from '../../src/model/model.js';
import { describeModel } from '../../src/model/describe.js';

const STORIES = fileURLToPath(new URL('../../../shared/models/stories260K', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'kvprism-st-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A raw safetensors file from a header object and a data section. */
function rawFile(name: string, header: unknown, dataBytes: number, opts: { headerLen?: bigint; cut?: number } = {}): string {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, opts.headerLen ?? BigInt(json.length), true);
  let buf = Buffer.concat([len, json, Buffer.alloc(dataBytes, 7)]);
  if (opts.cut) buf = buf.subarray(0, buf.length - opts.cut);
  const file = join(tmp, name);
  writeFileSync(file, buf);
  return file;
}

const ok = { a: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] }, b: { dtype: 'BF16', shape: [4], data_offsets: [24, 32] } };

describe('safetensors reader', () => {
  it('reads F32 and BF16 tensors in their stored dtype', () => {
    const f = SafetensorsFile.open(rawFile('ok.safetensors', ok, 32));
    const a = f.read('a');
    const b = f.read('b');
    f.close();
    expect(a.data).toBeInstanceOf(Float32Array);
    expect(a.shape).toEqual([2, 3]);
    expect(b.data).toBeInstanceOf(Uint16Array);
    expect(b.data[0]).toBe(0x0707);
  });

  it('round-trips what the writer writes', () => {
    const file = join(tmp, 'rt.safetensors');
    const x = Float32Array.from({ length: 12 }, (_, i) => i * 0.5 - 2);
    const y = Uint16Array.from([1, 2, 65535]);
    writeSafetensors(file, new Map([['x', { dtype: 'F32' as const, shape: [3, 4], data: x }], ['y', { dtype: 'F16' as const, shape: [3], data: y }]]));
    const f = SafetensorsFile.open(file);
    expect(Array.from(f.read('x').data)).toEqual(Array.from(x));
    expect(Array.from(f.read('y').data)).toEqual([1, 2, 65535]);
    expect(f.header.dataStart % 8).toBe(0);
    f.close();
  });

  const bad: [string, () => string, RegExp][] = [
    ['a file shorter than 8 bytes', () => (writeFileSync(join(tmp, 'tiny.safetensors'), Buffer.alloc(3)), join(tmp, 'tiny.safetensors')), /tiny\.safetensors: file is 3 bytes/],
    ['a header length larger than the file', () => rawFile('hlen.safetensors', ok, 32, { headerLen: 1n << 40n }), /hlen\.safetensors: header length \d+ is larger than/],
    ['malformed JSON', () => rawFile('json.safetensors', '{"a": {"dtype": "F32",', 8), /json\.safetensors: header is not well-formed JSON/],
    ['a truncated data section', () => rawFile('cut.safetensors', ok, 32, { cut: 5 }), /cut\.safetensors: tensor "b": data_offsets \[24, 32\] reach past the data section \(27 bytes/],
    ['out-of-range offsets', () => rawFile('range.safetensors', { a: { dtype: 'F32', shape: [2], data_offsets: [100, 108] } }, 16), /range\.safetensors: tensor "a": data_offsets \[100, 108\] reach past/],
    [
      'overlapping tensors',
      () => rawFile('overlap.safetensors', { a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, 16),
      /overlap\.safetensors: tensor "b" \[8, 16\) overlaps tensor "a" \[0, 16\)/,
    ],
    ['size ≠ shape × dtype', () => rawFile('size.safetensors', { a: { dtype: 'F16', shape: [3, 3], data_offsets: [0, 16] } }, 16), /size\.safetensors: tensor "a": holds 16 bytes but shape \[3, 3\] × F16 \(2 B\) needs 18/],
    ['an unsupported dtype', () => rawFile('dtype.safetensors', { a: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, 16), /dtype\.safetensors: tensor "a": dtype I64 is not supported/],
    ['a bad shape', () => rawFile('shape.safetensors', { a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4), /shape\.safetensors: tensor "a": shape must be an array/],
    ['end before begin', () => rawFile('order.safetensors', { a: { dtype: 'F32', shape: [0], data_offsets: [8, 4] } }, 8), /order\.safetensors: tensor "a": data_offsets \[8, 4\] end before begin/],
  ];
  for (const [what, make, message] of bad) {
    it(`rejects ${what} with one clear error`, () => {
      const file = make();
      expect(() => SafetensorsFile.open(file)).toThrow(message);
    });
  }
});

/** A copy of stories260K whose model.safetensors is rewritten by `edit`. */
function storiesVariant(name: string, edit: (t: Map<string, ReturnType<SafetensorsFile['read']>>) => void): string {
  const dir = join(tmp, name);
  const src = SafetensorsFile.open(join(STORIES, 'model.safetensors'));
  const tensors = new Map(src.names().map((n) => [n, src.read(n)]));
  src.close();
  edit(tensors);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of ['config.json', 'tok512.bin']) copyFileSync(join(STORIES, f), join(dir, f));
  writeSafetensors(join(dir, 'model.safetensors'), tensors);
  return dir;
}

describe('checkpoint validation against the architecture', () => {
  it('names the file and the tensor when one is missing', () => {
    const dir = storiesVariant('missing', (t) => t.delete('model.layers.3.mlp.up_proj.weight'));
    expect(() => loadModel(dir)).toThrow(/missing[\\/]model\.safetensors: tensor "model\.layers\.3\.mlp\.up_proj\.weight" is missing \(expected shape \[172, 64\]/);
  });

  it('rejects an unexpected extra tensor', () => {
    const dir = storiesVariant('extra', (t) => t.set('model.layers.9.foo.weight', { dtype: 'F32', shape: [2], data: new Float32Array(2) }));
    expect(() => loadModel(dir)).toThrow(/extra[\\/]model\.safetensors: unexpected tensor "model\.layers\.9\.foo\.weight"/);
  });

  it('rejects a tensor of the wrong shape', () => {
    const dir = storiesVariant('shape', (t) => t.set('model.norm.weight', { dtype: 'F32', shape: [32], data: new Float32Array(32) }));
    expect(() => describeModel(dir)).toThrow(/shape[\\/]model\.safetensors: tensor "model\.norm\.weight" has shape \[32\]; expected \[64\]/);
  });

  it('rejects an unsupported model_type naming config.json', () => {
    const dir = storiesVariant('mtype', () => {});
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, model_type: 'gpt2' }));
    expect(() => loadModel(dir)).toThrow(/mtype[\\/]config\.json: model_type "gpt2" is not supported/);
  });

  it('loads a sharded checkpoint and checks the index against the shards', () => {
    const dir = storiesVariant('sharded', () => {});
    const src = SafetensorsFile.open(join(dir, 'model.safetensors'));
    const names = src.names().sort();
    const half = Math.floor(names.length / 2);
    const shards = [names.slice(0, half), names.slice(half)];
    const weightMap: Record<string, string> = {};
    shards.forEach((ns, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      writeSafetensors(join(dir, file), new Map(ns.map((n) => [n, src.read(n)])));
      for (const n of ns) weightMap[n] = file;
    });
    src.close();
    rmSync(join(dir, 'model.safetensors'));
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    const sharded = loadModel(dir);
    const single = loadModel(STORIES);
    expect(Array.from(sharded.weights.layers[4]!.down.data)).toEqual(Array.from(single.weights.layers[4]!.down.data));

    weightMap[names[0]!] = 'model-00002-of-00002.safetensors';
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
    expect(() => Checkpoint.open(dir)).toThrow(new RegExp(`model-00002-of-00002\\.safetensors: tensor "${names[0]!.replace(/\./g, '\\.')}" is listed in .*index\\.json for this shard but is not in it`));
  });
});
