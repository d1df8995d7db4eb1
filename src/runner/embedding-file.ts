/**
 * Embedding / feature files of JSONL prompt pieces: raw little-endian f32 `[n][dim]` (no
 * header), or a `.safetensors` file holding the span as one 2-D tensor `[n][dim]` of dtype
 * F32, F16 or BF16 (decoded to f32 on read). Probing (stat, and the safetensors header through
 * the project's validating reader) is cheap and happens when a dataset is indexed; reading the
 * data happens only when a sample is asked for.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { SafetensorsFile } from '../model/safetensors.js';
import type { SafetensorsDType } from '../model/safetensors-header.js';
import { decodeToF32 } from '../util/half.js';

export interface EmbeddingFileInfo {
  /** Absolute path. */
  file: string;
  format: 'raw-f32' | 'safetensors';
  /** Elements in the span (n × dim). */
  elements: number;
  /** [n, dim] as the safetensors header states it; null for raw f32 (no shape stored). */
  shape: [number, number] | null;
  /** Tensor read from a safetensors file; null for raw f32. */
  tensor: string | null;
  dtype: SafetensorsDType;
}

const SAFETENSORS_FORM = 'a .safetensors file with one 2-D tensor [n][dim] of dtype F32, F16 or BF16';

export function isSafetensorsPath(file: string): boolean {
  return file.toLowerCase().endsWith('.safetensors');
}

/** Checks that `file` exists and has the right form; reads no tensor data. `where` names the JSONL field. */
export function probeEmbeddingFile(file: string, where: string, tensor?: string): EmbeddingFileInfo {
  let stat;
  try {
    stat = statSync(file);
  } catch {
    throw new Error(`${where}: embedding file "${file}" not found`);
  }
  const safetensors = isSafetensorsPath(file);
  const form = safetensors ? SAFETENSORS_FORM : 'a raw little-endian f32 file [n][dim]';
  if (!stat.isFile()) throw new Error(`${where}: "${file}" is ${stat.isDirectory() ? 'a directory' : 'not a regular file'}; expected ${form}`);
  if (!safetensors) {
    if (tensor !== undefined) throw new Error(`${where}: "tensor" names a tensor of a .safetensors file, but "${file}" is a raw f32 file`);
    if (stat.size % 4 !== 0) throw new Error(`${where}: ${file} is ${stat.size} bytes, not a whole number of f32 values`);
    return { file, format: 'raw-f32', elements: stat.size / 4, shape: null, tensor: null, dtype: 'F32' };
  }
  const st = openSafetensors(file, where);
  try {
    const names = st.names();
    const name = tensor ?? (names.length === 1 ? names[0]! : undefined);
    if (name === undefined) {
      throw new Error(`${where}: ${file} holds ${names.length} tensors (${names.slice(0, 8).join(', ') || 'none'}); name one with "tensor", or store ${SAFETENSORS_FORM}`);
    }
    if (!st.header.tensors.has(name)) throw new Error(`${where}.tensor: ${file} has no tensor "${name}" (it holds ${names.slice(0, 8).join(', ')})`);
    const e = st.entry(name);
    if (e.shape.length !== 2) throw new Error(`${where}: tensor "${name}" of ${file} has shape [${e.shape.join(', ')}]; expected a 2-D shape [n][dim]`);
    return { file, format: 'safetensors', elements: e.shape[0]! * e.shape[1]!, shape: [e.shape[0]!, e.shape[1]!], tensor: name, dtype: e.dtype };
  } finally {
    st.close();
  }
}

/** Reads a probed file's data as f32 `[n][dim]` row-major (F16 / BF16 decoded). */
export function readEmbeddingFile(info: EmbeddingFileInfo, where: string): Float32Array {
  if (info.format === 'raw-f32') return readRawF32(info, where);
  const st = openSafetensors(info.file, where);
  try {
    const t = readTensor(st, info.tensor!, where);
    if (t.data.length !== info.elements) throw new Error(`${where}: ${info.file} changed since the dataset was indexed (tensor "${info.tensor}" now has ${t.data.length} elements, was ${info.elements})`);
    if (t.dtype === 'F32') return t.data as Float32Array;
    return decodeToF32(t.data, t.dtype === 'F16' ? 'f16' : 'bf16', 0, t.data.length);
  } finally {
    st.close();
  }
}

/** Reads straight into the returned array (no intermediate Buffer: one copy of the span in memory). */
function readRawF32(info: EmbeddingFileInfo, where: string): Float32Array {
  const out = new Float32Array(info.elements);
  const bytes = new Uint8Array(out.buffer);
  let fd: number;
  try {
    fd = openSync(info.file, 'r');
  } catch (e) {
    throw new Error(`${where}: cannot read "${info.file}" (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  try {
    const size = fstatSync(fd).size;
    if (size !== bytes.length) throw new Error(`${where}: ${info.file} changed size since the dataset was indexed (${size} bytes, was ${bytes.length})`);
    for (let done = 0; done < bytes.length; ) {
      const got = readSync(fd, bytes, done, bytes.length - done, done);
      if (got === 0) throw new Error(`${where}: ${info.file} ended at byte ${done} of ${bytes.length} (changed while reading?)`);
      done += got;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

function readTensor(st: SafetensorsFile, name: string, where: string): ReturnType<SafetensorsFile['read']> {
  try {
    return st.read(name);
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
}

/** Opens through the validating reader; its errors already name the file, prefixed here with the JSONL field. */
function openSafetensors(file: string, where: string): SafetensorsFile {
  try {
    return SafetensorsFile.open(file);
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
}
