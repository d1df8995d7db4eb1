/** Test fixtures for the importers: a tmp folder with an annotation file and media placeholders. */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { expect } from 'vitest';
import { loadJsonlDataset } from '../../../src/runner/jsonl-dataset.js';

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
 * Reads back a closed-choice import through the runner's own reader (loadJsonlDataset): every
 * line loads, with its id, choices and answer, and its media piece becomes a media segment
 * naming the file the piece points at (from the JSONL's folder), clip bounds kept.
 */
export function readBackChoices(file: string): Record<string, unknown>[] {
  const rows = readJsonl(file);
  const samples = loadJsonlDataset(file);
  expect(samples.map((s) => s.id)).toEqual(rows.map((r) => r.id));
  samples.forEach((s, i) => {
    const row = rows[i]!;
    expect([s.choices, s.answer]).toEqual([row.choices, row.answer]);
    const piece = (row.prompt as Record<string, unknown>[])[0]!;
    const seg = s.prompt.segments[0]!;
    expect(seg.kind).toBe('media');
    if (seg.kind !== 'media') return;
    expect(seg.request).toEqual({ kind: piece.video ? 'video' : piece.audio ? 'audio' : 'image', file: mediaPath(piece, file), ...(piece.audioFromVideo ? { audioFromVideo: true } : {}) });
    expect([seg.start, seg.end]).toEqual([piece.start, piece.end]);
  });
  return rows;
}

/** Absolute path of a sample's media piece, resolved from the JSONL's folder. */
export function mediaPath(piece: Record<string, unknown>, jsonl: string): string {
  const p = (piece.video ?? piece.audio ?? piece.image) as string;
  return resolve(dirname(jsonl), p);
}
