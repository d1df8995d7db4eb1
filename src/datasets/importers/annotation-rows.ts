/**
 * Reading benchmark annotation files: the whole JSON document, then typed field reads whose
 * errors name the annotation file, the row (index and id) and the field with its expected form.
 */
import { readFileSync, statSync } from 'node:fs';

/** Where a field read happens: the annotation file and the row within it. */
export interface RowRef {
  file: string;
  /** 0-based position of the row in its list. */
  index: number;
  /** The row's own id, as "question_id 12", when it has one. */
  id?: string;
}

/** An error in a benchmark annotation file, or in the media it points at. */
export class ImportError extends Error {
  override name = 'ImportError';
}

export function rowLabel(row: RowRef): string {
  return `${row.file}: row ${row.index}${row.id ? ` (${row.id})` : ''}`;
}

/** Error for one field of one row: file, row, field, expected form and what was found. */
export function fieldError(row: RowRef, field: string, expected: string, got?: unknown): ImportError {
  const found = got === undefined ? 'it is missing' : `got ${describeValue(got)}`;
  return new ImportError(`${rowLabel(row)}: field "${field}": expected ${expected}; ${found}`);
}

function describeValue(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  const short = s.length > 60 ? `${s.slice(0, 57)}...` : s;
  return `${short} (${Array.isArray(v) ? 'list' : v === null ? 'null' : typeof v})`;
}

/** Parses an annotation file as JSON; unreadable files, folders and bad JSON name the file. */
export function readAnnotationJson(file: string): unknown {
  let text: string;
  try {
    if (statSync(file).isDirectory()) throw new ImportError(`--annotations: "${file}" is a folder; expected a JSON annotation file (or give --split to pick one from the folder)`);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof ImportError) throw e;
    throw new ImportError(`--annotations: cannot read "${file}" (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ImportError(`${file}: not valid JSON (${(e as Error).message})`);
  }
}

/** The top-level list of rows, or an error naming the expected layout. */
export function rowList(doc: unknown, file: string, layout: string): unknown[] {
  if (!Array.isArray(doc)) throw new ImportError(`${file}: expected ${layout}; the file's top level is ${Array.isArray(doc) ? 'a list' : doc === null ? 'null' : typeof doc}`);
  return doc;
}

/** One row as an object, or an error naming the row. */
export function rowObject(v: unknown, row: RowRef): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ImportError(`${rowLabel(row)}: expected an object; got ${describeValue(v)}`);
  return v as Record<string, unknown>;
}

export function readString(o: Record<string, unknown>, field: string, row: RowRef): string {
  const v = o[field];
  if (typeof v !== 'string' || v.trim() === '') throw fieldError(row, field, 'a non-empty string', v);
  return v;
}

export function readInt(o: Record<string, unknown>, field: string, row: RowRef): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isInteger(v)) throw fieldError(row, field, 'a whole number', v);
  return v;
}

/** A string or a whole number, as text (ids are either in the wild). */
export function readId(o: Record<string, unknown>, field: string, row: RowRef): string {
  const v = o[field];
  if (typeof v === 'number' && Number.isInteger(v)) return String(v);
  if (typeof v === 'string' && v.trim() !== '') return v;
  throw fieldError(row, field, 'an id (a non-empty string or a whole number)', v);
}

export function readStringList(o: Record<string, unknown>, field: string, row: RowRef, minLength = 1): string[] {
  const v = o[field];
  if (!Array.isArray(v) || v.length < minLength || v.some((x) => typeof x !== 'string')) {
    throw fieldError(row, field, `a list of at least ${minLength} strings`, v);
  }
  return v as string[];
}

/** A number of seconds ≥ 0 that may be absent (undefined). */
export function readOptionalSeconds(o: Record<string, unknown>, field: string, row: RowRef): number | undefined {
  const v = o[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw fieldError(row, field, 'a number of seconds ≥ 0', v);
  return v;
}

/** A string field that itself holds a JSON list of strings (MUSIC-AVQA's "type", "templ_values"). */
export function readEncodedStringList(o: Record<string, unknown>, field: string, row: RowRef): string[] {
  const raw = o[field];
  const expected = 'a string holding a JSON list of strings, like "[\\"Audio\\", \\"Counting\\"]"';
  if (typeof raw !== 'string') throw fieldError(row, field, expected, raw);
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw fieldError(row, field, expected, raw);
  }
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw fieldError(row, field, expected, raw);
  return v as string[];
}
