/**
 * Writing safetensors files (init-model's random checkpoints, test fixtures). Tensors are
 * laid out in name order with the header padded by spaces to a multiple of 8 bytes, as the
 * reference writer does. Data is produced and written tensor by tensor, so a multi-GB
 * checkpoint never sits in memory at once.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Tensor } from './safetensors.js';
import { DTYPE_BYTES, type SafetensorsDType } from './safetensors-header.js';

export interface TensorSpec {
  dtype: SafetensorsDType;
  shape: number[];
}

function tensorBytes(t: TensorSpec): number {
  return t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
}

/** Header JSON (padded to a multiple of 8 bytes) for tensors in name order. */
export function buildHeader(specs: ReadonlyMap<string, TensorSpec>, metadata?: Record<string, string>): { json: Uint8Array; order: string[] } {
  const order = [...specs.keys()].sort();
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of order) {
    const t = specs.get(name)!;
    const bytes = tensorBytes(t);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let text = JSON.stringify(header);
  text += ' '.repeat((8 - (Buffer.byteLength(text) % 8)) % 8);
  return { json: new TextEncoder().encode(text), order };
}

/**
 * Writes a safetensors file whose tensors are `specs`; `produce(name)` returns each tensor's
 * data (called once per tensor, in file order, right before it is written).
 */
export function writeSafetensorsFrom(
  file: string,
  specs: ReadonlyMap<string, TensorSpec>,
  produce: (name: string) => Float32Array | Uint16Array,
  metadata: Record<string, string> = { format: 'pt' },
): void {
  const { json, order } = buildHeader(specs, metadata);
  const fd = openSync(file, 'w');
  try {
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, BigInt(json.length), true);
    writeSync(fd, len);
    writeSync(fd, json);
    for (const name of order) {
      const d = produce(name);
      const want = tensorBytes(specs.get(name)!);
      if (d.byteLength !== want) throw new RangeError(`${file}: tensor "${name}" data has ${d.byteLength} bytes; its shape and dtype need ${want}`);
      writeSync(fd, new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    }
  } finally {
    closeSync(fd);
  }
}

/** Writes tensors already in memory. */
export function writeSafetensors(file: string, tensors: ReadonlyMap<string, Tensor>, metadata?: Record<string, string>): void {
  writeSafetensorsFrom(file, tensors, (name) => tensors.get(name)!.data, metadata);
}
