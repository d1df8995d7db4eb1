/**
 * `kvprism dataset import`: reads a benchmark's annotation file with its importer, finds each
 * sample's media file, and writes kvprism JSONL (datasets/README.md) that points at it.
 */
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ImportError, rowLabel } from './annotation-rows.js';
import type { ImportedSample, Importer, ImporterOptions } from './imported-sample.js';
import { checkMediaPattern, expandMediaPattern, mediaExists, pathForJsonl } from './media-paths.js';

export interface ImportRequest extends ImporterOptions {
  /** Annotation file, or a folder holding one file per split (then `split` picks it). */
  annotations: string;
  /** Folder the media pattern is expanded under. */
  media: string;
  /** JSONL file to write. */
  out: string;
  /** Write at most this many samples. */
  limit?: number;
  split?: string;
  /** Skip samples whose media file is missing (counted) instead of failing. */
  allowMissing?: boolean;
  /** Media file per sample, relative to `media`, with the format's placeholders. */
  mediaPattern?: string;
}

export interface ImportSummary {
  format: string;
  annotations: string;
  out: string;
  written: number;
  /** Samples or rows left out, by reason. */
  skipped: Record<string, number>;
}

/** Imports one annotation file; throws ImportError naming file, row and field for bad input. */
export function runImport(importer: Importer, req: ImportRequest): ImportSummary {
  for (const k of ['choices', 'task', 'allTurns'] as const) {
    if (req[k] !== undefined && !importer.takes.includes(k)) throw new ImportError(`--${optionName(k)}: not an option of ${importer.name}`);
  }
  if (req.limit !== undefined && (!Number.isInteger(req.limit) || req.limit < 1)) throw new ImportError(`--limit: expected a whole number ≥ 1; got ${req.limit}`);
  if (!existsSync(req.media) || !statSync(req.media).isDirectory()) throw new ImportError(`--media: "${req.media}" is not a folder; expected the folder holding the benchmark's media files`);
  const annotations = annotationFile(importer, req.annotations, req.split);
  const pattern = req.mediaPattern ?? importer.defaultMediaPattern(req, annotations);
  checkMediaPattern(pattern, importer.patternFields, importer.name);

  const { samples, skipped } = importer.read(annotations, req);
  const out = resolve(req.out);
  const outDir = dirname(out);
  const lines: string[] = [];
  const seen = new Map<string, string>();
  const counts = { ...skipped };
  for (const s of samples) {
    if (req.limit !== undefined && lines.length >= req.limit) break;
    const earlier = seen.get(s.id);
    if (earlier) throw new ImportError(`${rowLabel(s.row)}: sample id "${s.id}" was already taken by ${earlier}; ids must be unique`);
    seen.set(s.id, `row ${s.row.index}`);
    const file = expandMediaPattern(pattern, s.media.fields, req.media);
    if (!mediaExists(file)) {
      if (!req.allowMissing) throw new ImportError(`${rowLabel(s.row)}: sample "${s.id}": media file not found: ${file} (expected from --media-pattern "${pattern}"; --allow-missing skips such samples)`);
      counts['missing media'] = (counts['missing media'] ?? 0) + 1;
      continue;
    }
    lines.push(JSON.stringify(jsonlSample(s, pathForJsonl(file, outDir))));
  }
  if (lines.length === 0) throw new ImportError(`${annotations}: no sample left to write (skipped: ${formatSkipped(counts) || 'none'})`);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(out, `${lines.join('\n')}\n`);
  return { format: importer.name, annotations, out, written: lines.length, skipped: counts };
}

/** One line of the summary: samples written and skipped by reason. */
export function formatSummary(s: ImportSummary): string {
  const skipped = formatSkipped(s.skipped);
  return `${s.format}: wrote ${s.written} samples to ${s.out}${skipped ? ` (skipped: ${skipped})` : ' (none skipped)'}`;
}

function formatSkipped(counts: Record<string, number>): string {
  return Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([why, n]) => `${n} ${why}`)
    .join(', ');
}

/** The kvprism JSONL object of one sample (datasets/README.md), media path as given. */
function jsonlSample(s: ImportedSample, mediaPath: string): Record<string, unknown> {
  const { kind, audioFromVideo, start, end } = s.media;
  const piece: Record<string, unknown> = { [kind]: mediaPath };
  if (audioFromVideo) piece.audioFromVideo = true;
  if (start !== undefined) piece.start = start;
  if (end !== undefined) piece.end = end;
  const base = { id: s.id, family: s.family, prompt: [piece, { text: s.text }] };
  return 'reference' in s ? { ...base, reference: s.reference } : { ...base, choices: s.choices, answer: s.answer };
}

/** The annotation file: the path itself, or the split's file inside a folder. */
function annotationFile(importer: Importer, path: string, split: string | undefined): string {
  const isDir = existsSync(path) && statSync(path).isDirectory();
  if (split === undefined) return path;
  if (!importer.splitFile) throw new ImportError(`--split: ${importer.name} has no split files; give the annotation file itself as --annotations`);
  if (!isDir) throw new ImportError(`--split "${split}": --annotations "${path}" must be the folder holding the split files`);
  const name = importer.splitFile(split);
  const file = join(path, name);
  if (!existsSync(file)) {
    const present = readdirSync(path).filter((f) => f.endsWith('.json'));
    throw new ImportError(`--split "${split}": expected ${file}; the folder holds ${present.length ? present.join(', ') : 'no .json file'}`);
  }
  return file;
}

function optionName(k: keyof ImporterOptions): string {
  return k === 'allTurns' ? 'all-turns' : k;
}
