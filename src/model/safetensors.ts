/**
 * Reading safetensors checkpoints with fs: the header first (validated in
 * safetensors-header.ts), then each tensor's byte range straight into a typed array of its
 * stored dtype (F32 → Float32Array, F16/BF16 → Uint16Array raw bits). No full-file copy, so
 * multi-GB checkpoints load tensor by tensor. Sharded checkpoints go through
 * model.safetensors.index.json.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { headerLength, parseHeader, SafetensorsError, type SafetensorsDType, type SafetensorsHeader, type TensorEntry } from './safetensors-header.js';

export interface Tensor {
  dtype: SafetensorsDType;
  shape: number[];
  /** Row-major elements in the stored dtype: F32 as Float32Array, F16/BF16 as raw Uint16Array bits. */
  data: Float32Array | Uint16Array;
}

/** Largest single read (fs reads are limited to 2 GiB per call). */
const READ_CHUNK = 1 << 30;

/** An open safetensors file whose header has been validated. Close it when done. */
export class SafetensorsFile {
  readonly header: SafetensorsHeader;
  private fd: number;

  private constructor(fd: number, header: SafetensorsHeader) {
    this.fd = fd;
    this.header = header;
  }

  static open(file: string): SafetensorsFile {
    if (endianness() !== 'LE') throw new SafetensorsError(file, 'safetensors data is little-endian; this host is big-endian');
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch (e) {
      throw new SafetensorsError(file, `cannot open (${(e as Error).message})`);
    }
    try {
      const size = fstatSync(fd).size;
      const first8 = new Uint8Array(8);
      if (size >= 8) readFully(fd, first8, 0, file);
      const n = headerLength(file, first8, size);
      const json = new Uint8Array(n);
      readFully(fd, json, 8, file);
      return new SafetensorsFile(fd, parseHeader(file, json, size));
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  get file(): string {
    return this.header.file;
  }

  names(): string[] {
    return [...this.header.tensors.keys()];
  }

  entry(name: string): TensorEntry {
    const e = this.header.tensors.get(name);
    if (!e) throw new SafetensorsError(this.file, `tensor "${name}" is not in this file`);
    return e;
  }

  /** Reads one tensor's bytes into a fresh, aligned typed array of its stored dtype. */
  read(name: string): Tensor {
    const e = this.entry(name);
    const bytes = e.end - e.begin;
    const data = e.dtype === 'F32' ? new Float32Array(bytes / 4) : new Uint16Array(bytes / 2);
    readFully(this.fd, new Uint8Array(data.buffer, 0, bytes), this.header.dataStart + e.begin, this.file);
    return { dtype: e.dtype, shape: e.shape.slice(), data };
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

function readFully(fd: number, dst: Uint8Array, position: number, file: string): void {
  let done = 0;
  while (done < dst.length) {
    const len = Math.min(READ_CHUNK, dst.length - done);
    const got = readSync(fd, dst, done, len, position + done);
    if (got === 0) throw new SafetensorsError(file, `unexpected end of file at byte ${position + done} (truncated?)`);
    done += got;
  }
}

/**
 * The tensors of a checkpoint folder: model.safetensors, or the shards listed by
 * model.safetensors.index.json (every indexed tensor must be in its named shard, and every
 * tensor of a shard must be indexed to it).
 */
export class Checkpoint {
  private readonly files: SafetensorsFile[];
  private readonly where = new Map<string, SafetensorsFile>();
  /** The single file, or the index of a sharded checkpoint (names the checkpoint in errors). */
  readonly source: string;

  private constructor(files: SafetensorsFile[], source: string) {
    this.files = files;
    this.source = source;
  }

  static open(dir: string): Checkpoint {
    const single = join(dir, 'model.safetensors');
    const index = join(dir, 'model.safetensors.index.json');
    if (existsSync(index)) return Checkpoint.openSharded(dir, index);
    if (!existsSync(single)) throw new SafetensorsError(dir, 'no model.safetensors or model.safetensors.index.json in this folder');
    const f = SafetensorsFile.open(single);
    const cp = new Checkpoint([f], single);
    for (const n of f.names()) cp.where.set(n, f);
    return cp;
  }

  private static openSharded(dir: string, index: string): Checkpoint {
    const map = readWeightMap(index);
    const shardNames = [...new Set(map.values())].sort();
    const files: SafetensorsFile[] = [];
    try {
      for (const s of shardNames) files.push(SafetensorsFile.open(join(dir, s)));
    } catch (e) {
      for (const f of files) f.close();
      throw e;
    }
    const cp = new Checkpoint(files, index);
    const byShard = new Map(shardNames.map((s, i) => [s, files[i]!]));
    for (const [tensor, shard] of map) {
      const f = byShard.get(shard)!;
      if (!f.header.tensors.has(tensor)) {
        cp.close();
        throw new SafetensorsError(f.file, `tensor "${tensor}" is listed in ${index} for this shard but is not in it`);
      }
      cp.where.set(tensor, f);
    }
    for (const f of files) {
      for (const n of f.names()) {
        if (cp.where.get(n) !== f) {
          cp.close();
          throw new SafetensorsError(f.file, `tensor "${n}" is in this shard but ${index} does not map it here`);
        }
      }
    }
    return cp;
  }

  names(): string[] {
    return [...this.where.keys()];
  }

  has(name: string): boolean {
    return this.where.has(name);
  }

  entry(name: string): TensorEntry & { file: string } {
    const f = this.where.get(name);
    if (!f) throw new SafetensorsError(this.source, `tensor "${name}" is missing`);
    return { ...f.entry(name), file: f.file };
  }

  read(name: string): Tensor {
    const f = this.where.get(name);
    if (!f) throw new SafetensorsError(this.source, `tensor "${name}" is missing`);
    return f.read(name);
  }

  close(): void {
    for (const f of this.files) f.close();
  }
}

function readWeightMap(index: string): Map<string, string> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(index, 'utf8'));
  } catch (e) {
    throw new SafetensorsError(index, `not well-formed JSON (${(e as Error).message})`);
  }
  const wm = (raw as { weight_map?: unknown } | null)?.weight_map;
  if (typeof wm !== 'object' || wm === null || Array.isArray(wm)) {
    throw new SafetensorsError(index, 'weight_map must be an object mapping tensor names to shard file names');
  }
  const out = new Map<string, string>();
  for (const [t, s] of Object.entries(wm)) {
    if (typeof s !== 'string' || s.includes('/') || s.includes('\\') || !s.endsWith('.safetensors')) {
      throw new SafetensorsError(index, `weight_map["${t}"] must be a shard file name ending in .safetensors in the same folder; got ${JSON.stringify(s)}`);
    }
    out.set(t, s);
  }
  if (out.size === 0) throw new SafetensorsError(index, 'weight_map is empty');
  return out;
}
