/**
 * JSONL QA datasets (format: datasets/README.md). One sample per line; prompt pieces are text
 * or modality spans whose embeddings / encoder features live in raw little-endian f32 files
 * beside the JSONL (`[n][dim]` row-major). Any piece may give explicit RoPE `positions`
 * ([n] or [3][n] whole numbers ≥ 0) for layouts the built-in rule does not cover.
 * A sample has closed `choices` and an `answer`, or (generation) `reference` text(s); a file
 * holds one kind.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import type { PromptSegment, QASample } from '../model/prompt.js';
import { formatIssues, showValue } from './config-errors.js';

const positions = z
  .union([z.array(z.number().int().min(0)), z.array(z.array(z.number().int().min(0))).length(3)])
  .optional()
  .describe('RoPE position ids of the piece: [n], or [3][n] (temporal, height, width) under mrope');

const span = {
  positions,
  modality: z.enum(['image', 'video', 'audio']).describe('Modality of the span'),
  segment: z.number().int().min(0).optional().describe('Which image / clip / utterance'),
  time: z.array(z.number()).optional().describe('[n] seconds per token'),
  row: z.array(z.number().int()).optional().describe('[n] patch grid rows'),
  col: z.array(z.number().int()).optional().describe('[n] patch grid columns'),
};

const textPiece = z.strictObject({ text: z.string().describe('Text, tokenized by the model'), positions });
const tokensPiece = z.strictObject({ tokens: z.array(z.number().int().min(0)).describe('Raw token ids'), positions });
const embeddingsPiece = z.strictObject({
  ...span,
  embeddings: z.string().describe('f32 file [n][hidden] of ready embeddings, relative to the JSONL'),
  n: z.number().int().min(1).describe('Tokens in the span'),
});
const featuresPiece = z.strictObject({
  ...span,
  features: z.string().describe('f32 file [n][featureDim] of encoder features, relative to the JSONL'),
  featureDim: z.number().int().min(1).describe('Feature width'),
});

/**
 * A piece's form is named by its one distinguishing key, so a piece with one bad field is
 * checked against its own form (an embeddings piece is not reported as a bad text piece).
 */
const PIECE_FORMS = [
  { key: 'embeddings', schema: embeddingsPiece, form: '{modality, embeddings, n}' },
  { key: 'features', schema: featuresPiece, form: '{modality, features, featureDim}' },
  { key: 'tokens', schema: tokensPiece, form: '{tokens}' },
  { key: 'text', schema: textPiece, form: '{text}' },
] as const;

const segmentSchema = z.union([textPiece, tokensPiece, embeddingsPiece, featuresPiece]);

export const jsonlSampleSchema = z
  .strictObject({
    id: z.string().min(1).describe('Unique sample id'),
    family: z.string().default('default').describe('Question family, reported separately'),
    prompt: z.union([z.string(), z.array(z.unknown()).min(1)]).describe('Text, or a list of prompt pieces: {text} | {tokens} | {modality, embeddings, n} | {modality, features, featureDim}'),
    addBos: z.boolean().optional().describe('Prepend BOS (default true)'),
    choices: z.array(z.string()).min(2).describe('Candidate answers as text'),
    answer: z.number().int().min(0).describe('Index of the right choice'),
  })
  .refine((s) => s.answer < s.choices.length, { message: 'answer must index into choices', path: ['answer'] });

/**
 * An open-ended sample: `reference` answer text(s) instead of `choices` / `answer`, scored by
 * greedy generation (as `kvprism dataset import avsd` writes). A dataset holds one kind.
 */
export const jsonlGenerationSampleSchema = z.strictObject({
  id: z.string().min(1).describe('Unique sample id'),
  family: z.string().default('default').describe('Question family, reported separately'),
  prompt: z.union([z.string(), z.array(z.unknown()).min(1)]).describe('Text, or a list of prompt pieces (as in a choice sample)'),
  addBos: z.boolean().optional().describe('Prepend BOS (default true)'),
  reference: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).describe('Reference answer text, or a list of reference texts'),
  maxNewTokens: z.number().int().min(1).optional().describe('Most tokens to generate (default 32)'),
});

/** Deepest a sample line may nest (a real sample nests 4 deep: sample → prompt → piece → time). */
export const MAX_JSON_DEPTH = 64;

/** Bracket depth of a JSON text outside strings, stopping early past `limit`. */
export function jsonDepth(text: string, limit = Infinity): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length && max <= limit; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** Validates one prompt piece against the form its distinguishing key names. */
function parsePiece(raw: unknown, where: string): Piece {
  const keys = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? Object.keys(raw) : null;
  const form = keys && PIECE_FORMS.find((f) => keys.includes(f.key));
  if (!form) {
    const got = keys ? `an object with keys ${keys.join(', ') || '(none)'}` : showValue(raw);
    throw new Error(`${where}: expected a prompt piece ${PIECE_FORMS.map((f) => f.form).join(' | ')}; got ${got}`);
  }
  const parsed = form.schema.safeParse(raw);
  if (!parsed.success) {
    const lines = formatIssues(form.schema, raw, parsed.error.issues).map((l) => (l.startsWith('(top level)') ? l.slice(11) : `.${l}`));
    throw new Error(lines.map((l) => `${where}${l} (${form.key} piece form: ${form.form})`).join('; '));
  }
  return parsed.data;
}

/** Reads the first `limit` samples of a JSONL dataset; errors name file:line and the field. */
export function loadJsonlDataset(file: string, limit = Infinity): QASample[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`dataset.path: cannot read "${file}" (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  const dir = dirname(file);
  const samples: QASample[] = [];
  const ids = new Set<string>();
  let firstKind: { kind: SampleKind; where: string } | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length && samples.length < limit; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('//')) continue;
    const where = `${file}:${i + 1}`;
    const depth = jsonDepth(line, MAX_JSON_DEPTH);
    if (depth > MAX_JSON_DEPTH) {
      throw new Error(`${where}: nested more than ${MAX_JSON_DEPTH} levels deep; expected one sample object {id, prompt, choices, answer} whose prompt is a string or a list of pieces`);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (e) {
      throw new Error(`${where}: not JSON (${(e as Error).message})`);
    }
    const kind = sampleKind(raw);
    firstKind ??= { kind, where };
    if (kind !== firstKind.kind) throw new Error(mixedKindsMessage(raw, where, firstKind));
    const schema = kind === 'generation' ? jsonlGenerationSampleSchema : jsonlSampleSchema;
    const parsed = schema.safeParse(raw);
    if (!parsed.success) throw new Error(`${where}: ${formatIssues(schema, raw, parsed.error.issues).join('; ')}`);
    const s = parsed.data;
    if (ids.has(s.id)) throw new Error(`${where}: id "${s.id}" appears twice`);
    ids.add(s.id);
    const pieces = typeof s.prompt === 'string' ? [{ text: s.prompt }] : s.prompt.map((p, j) => parsePiece(p, `${where}: prompt[${j}]`));
    samples.push({
      id: s.id,
      family: s.family,
      prompt: { segments: pieces.map((p, j) => toSegment(p, dir, `${where}: prompt[${j}]`)), addBos: s.addBos },
      ...answerFields(s),
    });
  }
  if (samples.length === 0) throw new Error(`${file}: no samples`);
  return samples;
}

type SampleKind = 'choice' | 'generation';

/** A line with `reference` and no `choices` is a generation sample; anything else is checked as a choice sample. */
function sampleKind(raw: unknown): SampleKind {
  return raw !== null && typeof raw === 'object' && 'reference' in raw && !('choices' in raw) ? 'generation' : 'choice';
}

function mixedKindsMessage(raw: unknown, where: string, first: { kind: SampleKind; where: string }): string {
  const id = JSON.stringify((raw as { id?: unknown }).id);
  const describe = (k: SampleKind): string => (k === 'generation' ? 'a generation sample ({reference}, no choices)' : 'a choice sample ({choices, answer})');
  return `${where}: sample ${id} is ${describe(sampleKind(raw))}, but the dataset's first sample (${first.where}) is ${describe(first.kind)}; a dataset holds one kind: split it into two files`;
}

/** The sample's answer fields: its choices, or (generation) no choices and its references. */
function answerFields(s: z.infer<typeof jsonlSampleSchema> | z.infer<typeof jsonlGenerationSampleSchema>): Pick<QASample, 'choices' | 'answer' | 'reference' | 'maxNewTokens'> {
  if ('choices' in s) return { choices: s.choices, answer: s.answer };
  return { choices: [], answer: -1, reference: typeof s.reference === 'string' ? [s.reference] : s.reference, maxNewTokens: s.maxNewTokens };
}

type Piece = z.infer<typeof segmentSchema>;

function toSegment(p: Piece, dir: string, where: string): PromptSegment {
  const pos = p.positions && flatPositions(p.positions, `${where}.positions`);
  if ('text' in p) return { kind: 'text', text: p.text, positions: pos };
  if ('tokens' in p) {
    if (pos) checkPositionCount(pos, p.positions!, p.tokens.length, `${where}.positions`);
    return { kind: 'tokens', ids: p.tokens, positions: pos };
  }
  const file = resolve(dir, 'embeddings' in p ? p.embeddings : p.features);
  const data = readF32(file, `${where}.${'embeddings' in p ? 'embeddings' : 'features'}`);
  const n = 'embeddings' in p ? p.n : data.length / p.featureDim;
  if (!Number.isInteger(n) || data.length % n !== 0) {
    throw new Error(`${where}: ${file} holds ${data.length} floats, not a whole number of ${'embeddings' in p ? `${p.n} rows` : `rows of ${p.featureDim}`}`);
  }
  for (const k of ['time', 'row', 'col'] as const) {
    if (p[k] && p[k].length !== n) throw new Error(`${where}.${k}: has ${p[k].length} entries; expected one per token (${n})`);
  }
  if (pos) checkPositionCount(pos, p.positions!, n, `${where}.positions`);
  const common = {
    positions: pos,
    modality: p.modality,
    n,
    segment: p.segment,
    time: p.time && Float32Array.from(p.time),
    row: p.row && Int16Array.from(p.row),
    col: p.col && Int16Array.from(p.col),
  };
  return 'embeddings' in p ? { kind: 'embeddings', ...common, data } : { kind: 'features', ...common, featureDim: p.featureDim, data };
}

/** [n] or [3][n] ids → Int32Array ([3][n] axis-major); the three rows must be equally long. */
function flatPositions(p: number[] | number[][], where: string): Int32Array {
  if (!Array.isArray(p[0])) return Int32Array.from(p as number[]);
  const rows = p as number[][];
  if (rows.some((r) => r.length !== rows[0]!.length)) throw new Error(`${where}: the three rows have lengths ${rows.map((r) => r.length).join(', ')}; expected equal lengths`);
  return Int32Array.from(rows.flat());
}

function checkPositionCount(flat: Int32Array, raw: number[] | number[][], n: number, where: string): void {
  const perToken = Array.isArray(raw[0]) ? flat.length / 3 : flat.length;
  if (perToken !== n) throw new Error(`${where}: gives ids for ${perToken} tokens; expected ${n} (one per token of the piece)`);
}

function readF32(file: string, where: string): Float32Array {
  let stat;
  try {
    stat = statSync(file);
  } catch {
    throw new Error(`${where}: embedding file "${file}" not found`);
  }
  if (!stat.isFile()) throw new Error(`${where}: "${file}" is ${stat.isDirectory() ? 'a directory' : 'not a regular file'}; expected a raw little-endian f32 file [n][dim]`);
  if (stat.size % 4 !== 0) throw new Error(`${where}: ${file} is ${stat.size} bytes, not a whole number of f32 values`);
  const buf = readFileSync(file);
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}
