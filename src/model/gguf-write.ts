/**
 * Writing GGUF v3 files (the format llama.cpp loads), following ggml's docs/gguf.md:
 *
 *   magic "GGUF" · version u32 = 3 · tensor count u64 · metadata count u64
 *   metadata: key (u64 length + UTF-8) · value type u32 · value
 *   tensor infos: name · n_dims u32 · dims u64[n_dims] (innermost first: a row-major
 *     [rows][cols] tensor is written as ne = [cols, rows]) · ggml type u32 · offset u64
 *   padding to `general.alignment` (32), then the tensor data, each tensor starting at an
 *   offset (from the data start) that is a multiple of the alignment.
 *
 * All numbers little-endian. Tensor data is produced and written one tensor at a time, so a
 * large model never sits in memory twice.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

/** A metadata value with its GGUF type. */
export type GgufValue =
  | { type: 'u32'; value: number }
  | { type: 'i32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'string[]'; value: readonly string[] }
  | { type: 'f32[]'; value: readonly number[] | Float32Array }
  | { type: 'i32[]'; value: readonly number[] | Int32Array };

/** ggml tensor types this writer emits (ggml.h: GGML_TYPE_F32 = 0, F16 = 1, BF16 = 30). */
export type GgmlTensorType = 'F32' | 'F16' | 'BF16';
export const GGML_TYPE_ID: Record<GgmlTensorType, number> = { F32: 0, F16: 1, BF16: 30 };
const GGML_TYPE_BYTES: Record<GgmlTensorType, number> = { F32: 4, F16: 2, BF16: 2 };

/** GGUF metadata value types (gguf.md: gguf_metadata_value_type). */
const VT = { u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9 } as const;

export const GGUF_ALIGNMENT = 32;

export interface GgufTensorSpec {
  name: string;
  type: GgmlTensorType;
  /** Row-major shape, outermost first (as in safetensors); written reversed as ggml's ne. */
  shape: readonly number[];
}

/** Grows a byte buffer as little-endian fields are appended. */
class ByteSink {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u32(x: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, x, true);
    this.length += 4;
  }
  i32(x: number): void {
    this.reserve(4);
    this.view.setInt32(this.length, x, true);
    this.length += 4;
  }
  f32(x: number): void {
    this.reserve(4);
    this.view.setFloat32(this.length, x, true);
    this.length += 4;
  }
  u64(x: number): void {
    this.reserve(8);
    this.view.setBigUint64(this.length, BigInt(x), true);
    this.length += 8;
  }
  u8(x: number): void {
    this.reserve(1);
    this.buf[this.length++] = x;
  }
  string(s: string): void {
    const bytes = new TextEncoder().encode(s);
    this.u64(bytes.length);
    this.reserve(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }
  padTo(alignment: number): void {
    while (this.length % alignment !== 0) this.u8(0);
  }
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

function writeValue(out: ByteSink, v: GgufValue): void {
  switch (v.type) {
    case 'u32': out.u32(VT.u32); out.u32(v.value); return;
    case 'i32': out.u32(VT.i32); out.i32(v.value); return;
    case 'f32': out.u32(VT.f32); out.f32(v.value); return;
    case 'bool': out.u32(VT.bool); out.u8(v.value ? 1 : 0); return;
    case 'string': out.u32(VT.string); out.string(v.value); return;
    case 'string[]':
      out.u32(VT.array); out.u32(VT.string); out.u64(v.value.length);
      for (const s of v.value) out.string(s);
      return;
    case 'f32[]':
      out.u32(VT.array); out.u32(VT.f32); out.u64(v.value.length);
      for (const x of v.value) out.f32(x);
      return;
    case 'i32[]':
      out.u32(VT.array); out.u32(VT.i32); out.u64(v.value.length);
      for (const x of v.value) out.i32(x);
      return;
  }
}

/** Bytes of one tensor's data (no padding). */
export function ggufTensorBytes(t: GgufTensorSpec): number {
  return t.shape.reduce((a, b) => a * b, 1) * GGML_TYPE_BYTES[t.type];
}

/** Header bytes (magic through the padding before the data) for these tensors in this order. */
export function buildGgufHeader(metadata: ReadonlyMap<string, GgufValue>, tensors: readonly GgufTensorSpec[]): Uint8Array {
  const out = new ByteSink();
  for (const c of 'GGUF') out.u8(c.charCodeAt(0));
  out.u32(3);
  out.u64(tensors.length);
  out.u64(metadata.size);
  for (const [key, value] of metadata) {
    out.string(key);
    writeValue(out, value);
  }
  let offset = 0;
  for (const t of tensors) {
    if (t.shape.length < 1 || t.shape.length > 4 || t.shape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new RangeError(`GGUF tensor "${t.name}": shape [${t.shape.join(', ')}] must have 1 to 4 whole dims ≥ 1`);
    }
    out.string(t.name);
    out.u32(t.shape.length);
    for (let i = t.shape.length - 1; i >= 0; i--) out.u64(t.shape[i]!);
    out.u32(GGML_TYPE_ID[t.type]);
    out.u64(offset);
    offset = alignUp(offset + ggufTensorBytes(t), GGUF_ALIGNMENT);
  }
  out.padTo(GGUF_ALIGNMENT);
  return out.bytes();
}

function alignUp(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}

/**
 * Writes a GGUF v3 file. `produce(tensor)` returns each tensor's row-major data in its type
 * (F32 as Float32Array, F16 / BF16 as raw Uint16Array bits); it is called once per tensor,
 * in the order given, right before that tensor is written.
 */
export function writeGguf(
  file: string,
  metadata: ReadonlyMap<string, GgufValue>,
  tensors: readonly GgufTensorSpec[],
  produce: (tensor: GgufTensorSpec) => Float32Array | Uint16Array,
): void {
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name)) throw new RangeError(`${file}: GGUF tensor "${t.name}" is listed twice`);
    names.add(t.name);
  }
  const header = buildGgufHeader(metadata, tensors);
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, header);
    const zeros = new Uint8Array(GGUF_ALIGNMENT);
    for (const t of tensors) {
      const data = produce(t);
      const want = ggufTensorBytes(t);
      const wantArray = t.type === 'F32' ? Float32Array : Uint16Array;
      if (!(data instanceof wantArray) || data.byteLength !== want) {
        throw new RangeError(`${file}: tensor "${t.name}" data is ${data.constructor.name} of ${data.byteLength} bytes; ${t.type} [${t.shape.join(', ')}] needs a ${wantArray.name} of ${want}`);
      }
      writeSync(fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      const pad = alignUp(want, GGUF_ALIGNMENT) - want;
      if (pad > 0) writeSync(fd, zeros, 0, pad);
    }
  } finally {
    closeSync(fd);
  }
}
