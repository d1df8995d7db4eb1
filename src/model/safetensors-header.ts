/**
 * Parsing and validation of a safetensors header. The format: an 8-byte little-endian header
 * length N, N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?}`,
 * then the data section (offsets are relative to its start). Every check names the file and
 * the tensor, so a bad checkpoint fails with one clear message instead of garbage weights.
 */

/** Storage types this runtime loads (what HF checkpoints of our families use). */
export type SafetensorsDType = 'F32' | 'F16' | 'BF16';

export const DTYPE_BYTES: Record<SafetensorsDType, number> = { F32: 4, F16: 2, BF16: 2 };

/** Upper bound on the JSON header (the reference implementation uses 100 MB). */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface TensorEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Byte offset of the tensor inside the data section. */
  begin: number;
  /** End byte offset (exclusive) inside the data section. */
  end: number;
}

export interface SafetensorsHeader {
  file: string;
  /** Byte offset of the data section inside the file (8 + header length). */
  dataStart: number;
  dataBytes: number;
  tensors: Map<string, TensorEntry>;
  metadata: Record<string, string>;
}

export class SafetensorsError extends Error {
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'SafetensorsError';
  }
}

/**
 * Reads the header length from the first 8 bytes and checks it fits inside the file.
 * Returns N (the JSON byte count).
 */
export function headerLength(file: string, first8: Uint8Array, fileBytes: number): number {
  if (fileBytes < 8) throw new SafetensorsError(file, `file is ${fileBytes} bytes; a safetensors file starts with an 8-byte header length`);
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(fileBytes - 8)) {
    throw new SafetensorsError(file, `header length ${n} is larger than the ${fileBytes - 8} bytes after the length field (truncated or not a safetensors file)`);
  }
  if (n > BigInt(MAX_HEADER_BYTES)) throw new SafetensorsError(file, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (n < 2n) throw new SafetensorsError(file, `header length ${n} is too small for a JSON object`);
  return Number(n);
}

/**
 * Validates the JSON header: dtypes, shapes, offsets inside the data section, sizes equal to
 * shape × dtype size, and no two tensors overlapping.
 */
export function parseHeader(file: string, json: Uint8Array, fileBytes: number): SafetensorsHeader {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (e) {
    throw new SafetensorsError(file, `header is not well-formed JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new SafetensorsError(file, 'header must be a JSON object mapping tensor names to {dtype, shape, data_offsets}');
  }
  const dataStart = 8 + json.length;
  const dataBytes = fileBytes - dataStart;
  const tensors = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(file, value);
      continue;
    }
    tensors.set(name, parseEntry(file, name, value, dataBytes));
  }
  checkNoOverlap(file, [...tensors.values()]);
  return { file, dataStart, dataBytes, tensors, metadata };
}

function parseMetadata(file: string, value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SafetensorsError(file, '__metadata__ must be an object of string values');
  }
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new SafetensorsError(file, `__metadata__.${k} must be a string; got ${typeof v}`);
  }
  return value as Record<string, string>;
}

function parseEntry(file: string, name: string, value: unknown, dataBytes: number): TensorEntry {
  const where = `tensor "${name}"`;
  if (typeof value !== 'object' || value === null) throw new SafetensorsError(file, `${where}: entry must be an object {dtype, shape, data_offsets}`);
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype !== 'string') throw new SafetensorsError(file, `${where}: dtype missing; expected one of F32, F16, BF16`);
  if (!(dtype in DTYPE_BYTES)) throw new SafetensorsError(file, `${where}: dtype ${dtype} is not supported; expected one of F32, F16, BF16`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new SafetensorsError(file, `${where}: shape must be an array of whole numbers ≥ 0; got ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw new SafetensorsError(file, `${where}: data_offsets must be [begin, end] whole numbers ≥ 0; got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw new SafetensorsError(file, `${where}: data_offsets [${begin}, ${end}] end before begin`);
  if (end > dataBytes) {
    throw new SafetensorsError(file, `${where}: data_offsets [${begin}, ${end}] reach past the data section (${dataBytes} bytes; file truncated?)`);
  }
  const dt = dtype as SafetensorsDType;
  const expected = (shape as number[]).reduce((a, b) => a * b, 1) * DTYPE_BYTES[dt];
  if (end - begin !== expected) {
    throw new SafetensorsError(
      file,
      `${where}: holds ${end - begin} bytes but shape [${(shape as number[]).join(', ')}] × ${dt} (${DTYPE_BYTES[dt]} B) needs ${expected}`,
    );
  }
  return { name, dtype: dt, shape: shape as number[], begin, end };
}

function checkNoOverlap(file: string, entries: TensorEntry[]): void {
  const sorted = entries.filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.begin < prev.end) {
      throw new SafetensorsError(
        file,
        `tensor "${cur.name}" [${cur.begin}, ${cur.end}) overlaps tensor "${prev.name}" [${prev.begin}, ${prev.end})`,
      );
    }
  }
}
