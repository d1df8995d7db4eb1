/** Test fixtures for the importers: a tmp folder with an annotation file and media placeholders. */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { expect } from 'vitest';
import { jsonlSampleSchema } from '../../../src/runner/jsonl-dataset.js';

export interface Fixture {
  dir: string;
  annotations: string;
  media: string;
  out: string;
}

/** Writes `doc` as the annotation file and an empty placeholder for each media path. */
export function fixture(doc: unknown, mediaFiles: string[], annotationName = 'annotations.json'): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'kvprism-import-'));
  const media = join(dir, 'media');
  mkdirSync(media);
  for (const f of mediaFiles) {
    mkdirSync(dirname(join(media, f)), { recursive: true });
    writeFileSync(join(media, f), '');
  }
  const annotations = join(dir, annotationName);
  writeFileSync(annotations, JSON.stringify(doc, null, 1));
  return { dir, annotations, media, out: join(dir, 'out.jsonl') };
}

/** The written JSONL lines as objects. */
export function readJsonl(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * Reads back a closed-choice import: every line's id, family, text piece, choices and answer must
 * pass the project's JSONL sample schema (the media piece, which the runner side reads, is
 * checked separately), and the media path must name an existing file from the JSONL's folder.
 */
export function readBackChoices(file: string): Record<string, unknown>[] {
  const rows = readJsonl(file);
  for (const r of rows) {
    const [media, ...rest] = r.prompt as Record<string, unknown>[];
    const parsed = jsonlSampleSchema.safeParse({ ...r, prompt: rest });
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    expect(mediaPath(media!, file)).toBeTruthy();
  }
  return rows;
}

/** Absolute path of a sample's media piece, resolved from the JSONL's folder. */
export function mediaPath(piece: Record<string, unknown>, jsonl: string): string {
  const p = (piece.video ?? piece.audio ?? piece.image) as string;
  return resolve(dirname(jsonl), p);
}
