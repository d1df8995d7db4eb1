/**
 * Media paths of imported samples: a pattern such as "{video_id}.mp4" expanded under the
 * media folder, checked on disk, and written relative to the JSONL file's folder when the
 * file lies inside it (the pair moves together), else absolute.
 */
import { statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { ImportError } from './annotation-rows.js';

/** Checks a media pattern's placeholders against the ones the format offers. */
export function checkMediaPattern(pattern: string, fields: readonly string[], format: string): void {
  const used = [...pattern.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]!);
  if (used.length === 0) throw new ImportError(`--media-pattern "${pattern}": names no placeholder; ${format} offers ${fields.map((f) => `{${f}}`).join(', ')}`);
  for (const u of used) {
    if (!fields.includes(u)) throw new ImportError(`--media-pattern "${pattern}": unknown placeholder {${u}}; ${format} offers ${fields.map((f) => `{${f}}`).join(', ')}`);
  }
}

/** The media file of one sample: the pattern expanded under the media folder, absolute. */
export function expandMediaPattern(pattern: string, fields: Record<string, string>, mediaDir: string): string {
  const rel = pattern.replace(/\{([^{}]*)\}/g, (_, k: string) => fields[k] ?? '');
  return resolve(mediaDir, rel);
}

/** Whether the media file exists as a regular file. */
export function mediaExists(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The path to write: relative to the JSONL's folder when the file lies inside it, else absolute. */
export function pathForJsonl(file: string, jsonlDir: string): string {
  const rel = relative(jsonlDir, file);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return file;
  return rel.split(sep).join('/');
}
