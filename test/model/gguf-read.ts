/**
 * A small GGUF v3 reader for tests, written from ggml's docs/gguf.md independently of
 * src/model/gguf-write.ts: it checks the magic, version, alignment padding and tensor offsets
 * as llama.cpp's gguf_init would, and returns metadata values and tensor infos as read.
 */
import { readFileSync } from 'node:fs';

export interface ReadTensorInfo {
  name: string;
  /** ggml ne: innermost dim first. */
  ne: number[];
  type: number;
  /** Offset from the data start. */
  offset: number;
}

export interface ReadGguf {
  version: number;
  metadata: Map<string, unknown>;
  tensors: ReadTensorInfo[];
  /** Byte position of the data section in the file. */
  dataStart: number;
  bytes: Buffer;
}

export function readGguf(file: string): ReadGguf {
  const bytes = readFileSync(file);
  let pos = 0;
  const u32 = (): number => { const v = bytes.readUInt32LE(pos); pos += 4; return v; };
  const u64 = (): number => { const v = Number(bytes.readBigUInt64LE(pos)); pos += 8; return v; };
  const str = (): string => { const n = u64(); const s = bytes.toString('utf8', pos, pos + n); pos += n; return s; };
  const scalar = (t: number): unknown => {
    switch (t) {
      case 0: return bytes.readUInt8(pos++);
      case 1: return bytes.readInt8(pos++);
      case 4: return u32();
      case 5: { const v = bytes.readInt32LE(pos); pos += 4; return v; }
      case 6: { const v = bytes.readFloatLE(pos); pos += 4; return v; }
      case 7: { const v = bytes.readUInt8(pos++); if (v > 1) throw new Error(`bool byte ${v} at ${pos - 1}`); return v === 1; }
      case 8: return str();
      case 10: return u64();
      default: throw new Error(`value type ${t} not handled by the test reader`);
    }
  };
  if (bytes.toString('latin1', 0, 4) !== 'GGUF') throw new Error(`${file}: bad magic`);
  pos = 4;
  const version = u32();
  const tensorCount = u64();
  const kvCount = u64();
  const metadata = new Map<string, unknown>();
  for (let i = 0; i < kvCount; i++) {
    const key = str();
    const t = u32();
    if (t === 9) {
      const et = u32();
      const n = u64();
      const arr: unknown[] = [];
      for (let j = 0; j < n; j++) arr.push(scalar(et));
      metadata.set(key, arr);
    } else {
      metadata.set(key, scalar(t));
    }
  }
  const tensors: ReadTensorInfo[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = str();
    const nd = u32();
    const ne = Array.from({ length: nd }, () => u64());
    tensors.push({ name, ne, type: u32(), offset: u64() });
  }
  const alignment = (metadata.get('general.alignment') as number | undefined) ?? 32;
  const dataStart = Math.ceil(pos / alignment) * alignment;
  for (let i = pos; i < dataStart; i++) if (bytes[i] !== 0) throw new Error(`${file}: non-zero padding byte at ${i}`);
  return { version, metadata, tensors, dataStart, bytes };
}

/** One tensor's data as F32 (type 0) or raw 16-bit words (types 1 and 30). */
export function tensorData(g: ReadGguf, name: string): Float32Array | Uint16Array {
  const t = g.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`no tensor ${name}`);
  const n = t.ne.reduce((a, b) => a * b, 1);
  const start = g.dataStart + t.offset;
  const copy = new Uint8Array(g.bytes.subarray(start, start + n * (t.type === 0 ? 4 : 2)));
  return t.type === 0 ? new Float32Array(copy.buffer) : new Uint16Array(copy.buffer);
}
