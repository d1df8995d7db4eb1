/**
 * Minimal f32 safetensors writer/reader for organism checkpoints (format: u64 LE header
 * length, JSON header {name: {dtype, shape, data_offsets}}, then the raw little-endian data).
 */
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import type { Params } from './params.js';

export function encodeSafetensors(params: Params, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of params) {
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const head = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + head.length + offset);
  out.writeBigUInt64LE(BigInt(head.length), 0);
  head.copy(out, 8);
  let p = 8 + head.length;
  for (const t of params.values()) {
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, p);
    p += t.data.byteLength;
  }
  return out;
}

/** Writes atomically (temp file + rename) so an interrupted save never leaves a torn file. */
export function saveSafetensors(path: string, params: Params, metadata: Record<string, string> = {}): void {
  writeFileSync(`${path}.tmp`, encodeSafetensors(params, metadata));
  renameSync(`${path}.tmp`, path);
}

export function loadSafetensors(path: string): { params: Params; metadata: Record<string, string> } {
  const buf = readFileSync(path);
  if (buf.length < 8) throw new RangeError(`${path}: too short to be a safetensors file`);
  const n = Number(buf.readBigUInt64LE(0));
  if (8 + n > buf.length) throw new RangeError(`${path}: header length ${n} exceeds the file size ${buf.length}`);
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, any>;
  const params: Params = new Map();
  const base = 8 + n;
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (info.dtype !== 'F32') throw new TypeError(`${path}: tensor "${name}" has dtype ${info.dtype}; the organism reader expects F32`);
    const [s, e] = info.data_offsets as [number, number];
    const bytes = buf.subarray(base + s, base + e);
    const data = new Float32Array(bytes.length / 4);
    Buffer.from(data.buffer).set(bytes);
    params.set(name, { shape: info.shape, data });
  }
  return { params, metadata: (header.__metadata__ ?? {}) as Record<string, string> };
}
