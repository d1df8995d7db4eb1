/**
 * 16-bit float codecs. bf16 is the top half of an f32; f16 decodes through a 64K-entry table
 * (built once, 256 KiB) because bulk decode is on hot paths (views, reference kernels).
 */
import { getFloat16, setFloat16 } from '@petamoriken/float16';
import type { KVBuffer, KVDType } from '../attention/backend.js';

const scratch = new DataView(new ArrayBuffer(4));

export function bf16ToF32(bits: number): number {
  scratch.setUint32(0, (bits & 0xffff) << 16);
  return scratch.getFloat32(0);
}

/** Round-to-nearest-even f32 → bf16 bits (NaN stays NaN). */
export function f32ToBf16(x: number): number {
  scratch.setFloat32(0, x);
  const u = scratch.getUint32(0);
  if ((u & 0x7f800000) === 0x7f800000 && (u & 0x7fffff) !== 0) return ((u >>> 16) | 0x40) & 0xffff;
  const rounding = 0x7fff + ((u >>> 16) & 1);
  return ((u + rounding) >>> 16) & 0xffff;
}

let f16Table: Float32Array | undefined;
function table(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    const dv = new DataView(new ArrayBuffer(2));
    for (let i = 0; i < 65536; i++) {
      dv.setUint16(0, i);
      f16Table[i] = getFloat16(dv, 0);
    }
  }
  return f16Table;
}

export function f16ToF32(bits: number): number {
  return table()[bits & 0xffff]!;
}

const scratch16 = new DataView(new ArrayBuffer(2));

/** Round-to-nearest-even f32 → f16 bits. */
export function f32ToF16(x: number): number {
  setFloat16(scratch16, 0, x);
  return scratch16.getUint16(0);
}

export function bytesPerElement(dtype: KVDType): number {
  return dtype === 'f32' ? 4 : 2;
}

/** Decodes count elements starting at offset of a K/V buffer into f32 (dst or new). */
export function decodeToF32(src: KVBuffer, dtype: KVDType, offset: number, count: number, dst?: Float32Array): Float32Array {
  const out = dst ?? new Float32Array(count);
  if (dtype === 'f32') {
    out.set((src as Float32Array).subarray(offset, offset + count));
  } else if (dtype === 'bf16') {
    const u = src as Uint16Array;
    const o32 = new Uint32Array(out.buffer, out.byteOffset, count);
    for (let i = 0; i < count; i++) o32[i] = u[offset + i]! << 16;
  } else {
    const t = table();
    const u = src as Uint16Array;
    for (let i = 0; i < count; i++) out[i] = t[u[offset + i]!]!;
  }
  return out;
}

/** Encodes f32 values into a K/V buffer at offset. */
export function encodeFromF32(src: ArrayLike<number>, dtype: KVDType, dst: KVBuffer, offset: number): void {
  if (dtype === 'f32') {
    (dst as Float32Array).set(src, offset);
    return;
  }
  const enc = dtype === 'bf16' ? f32ToBf16 : f32ToF16;
  for (let i = 0; i < src.length; i++) dst[offset + i] = enc(src[i]!);
}

export function allocKV(dtype: KVDType, n: number): KVBuffer {
  return dtype === 'f32' ? new Float32Array(n) : new Uint16Array(n);
}
