/**
 * JSONL QA datasets (format: datasets/README.md). One sample per line; prompt pieces are text
 * or modality spans whose embeddings / encoder features live in files beside the JSONL (raw
 * little-endian f32 `[n][dim]` row-major, or safetensors: embedding-file.ts). Any piece may
 * give explicit RoPE `positions` ([n] or [3][n] whole numbers ≥ 0) for layouts the built-in
 * rule does not cover. A line is checked (schema, files probed) without reading file data;
 * the data is read when the sample is built (lazy-jsonl.ts builds one sample at a time).
 * Media pieces (`{video}`, `{audio}`, `{image}`) name files that a model folder with towers
 * reads at run time (src/runner/media-prompt.ts); here only their form and existence are checked.
 * A sample has closed `choices` and an `answer`, or (generation) `reference` text(s); a file
 * holds one kind.
 */
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import type { PromptSegment, QASample } from '../model/prompt.js';
import { formatIssues, showValue } from './config-errors.js';
import { probeEmbeddingFile, readEmbeddingFile } from './embedding-file.js';
import { evidenceSchema, resolveEvidence } from './jsonl-evidence.js';
import { indexSampleLines, readLine, type IndexedLine } from './jsonl-lines.js';

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
  tensor: z.string().min(1).optional().describe('Tensor to read from a .safetensors file (default: its only tensor)'),
};

const textPiece = z.strictObject({ text: z.string().describe('Text, tokenized by the model'), positions });
const tokensPiece = z.strictObject({ tokens: z.array(z.number().int().min(0)).describe('Raw token ids'), positions });
const embeddingsPiece = z.strictObject({
  ...span,
  embeddings: z.string().describe('raw f32 or .safetensors file [n][hidden] of ready embeddings, relative to the JSONL'),
  n: z.number().int().min(1).describe('Tokens in the span'),
});
const featuresPiece = z.strictObject({
  ...span,
  features: z.string().describe('raw f32 or .safetensors file [n][featureDim] of encoder features, relative to the JSONL'),
  featureDim: z.number().int().min(1).describe('Feature width'),
});

const mediaPath = z.string().min(1).describe('Media file, absolute or relative to the JSONL');
const videoPiece = z
  .strictObject({
    video: mediaPath,
    audioFromVideo: z.boolean().optional().describe("The file's own audio track goes in too (Omni use_audio_in_video)"),
    start: z.number().min(0).optional().describe('Seconds: where the sample\'s clip starts'),
    end: z.number().positive().optional().describe('Seconds: where the sample\'s clip ends'),
  })
  .refine((p) => p.start === undefined || p.end === undefined || p.end > p.start, { message: 'end must be after start', path: ['end'] });
const audioPiece = z.strictObject({ audio: mediaPath });
const imagePiece = z.strictObject({ image: mediaPath });

/**
 * A piece's form is named by its one distinguishing key, so a piece with one bad field is
 * checked against its own form (an embeddings piece is not reported as a bad text piece).
 */
const PIECE_FORMS = [
  { key: 'embeddings', schema: embeddingsPiece, form: '{modality, embeddings, n}' },
  { key: 'features', schema: featuresPiece, form: '{modality, features, featureDim}' },
  { key: 'video', schema: videoPiece, form: '{video, audioFromVideo?, start?, end?}' },
  { key: 'audio', schema: audioPiece, form: '{audio}' },
  { key: 'image', schema: imagePiece, form: '{image}' },
  { key: 'tokens', schema: tokensPiece, form: '{tokens}' },
  { key: 'text', schema: textPiece, form: '{text}' },
] as const;

const segmentSchema = z.union([textPiece, tokensPiece, embeddingsPiece, featuresPiece, videoPiece, audioPiece, imagePiece]);

export const jsonlSampleSchema = z
  .strictObject({
    id: z.string().min(1).describe('Unique sample id'),
    family: z.string().default('default').describe('Question family, reported separately'),
    prompt: z.union([z.string(), z.array(z.unknown()).min(1)]).describe('Text, or a list of prompt pieces: {text} | {tokens} | {modality, embeddings, n} | {modality, features, featureDim} | {video} | {audio} | {image}'),
    addBos: z.boolean().optional().describe('Prepend BOS (default true)'),
    choices: z.array(z.string()).min(2).describe('Candidate answers as text'),
    answer: z.number().int().min(0).describe('Index of the right choice'),
    evidence: evidenceSchema.optional().describe('Where the answer lies: token ranges [[start, end), …] of the prompt, or {seconds: [[t0, t1], …]} of media time'),
    questionAt: z.number().min(0).optional().describe('Streaming protocol: seconds of media after which the question arrives (later media never reach the cache); default: after the whole prompt'),
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
  evidence: evidenceSchema.optional().describe('Where the answer lies: token ranges [[start, end), …] of the prompt, or {seconds: [[t0, t1], …]} of media time'),
  questionAt: z.number().min(0).optional().describe('Streaming protocol: seconds of media after which the question arrives (later media never reach the cache); default: after the whole prompt'),
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

/** A sample's fields other than its prompt (small: kept in the index). */
export type SampleInfo = Omit<QASample, 'prompt'>;

/** A sample line that passed every check; `build` reads its files and returns the sample. */
export interface CheckedSample {
  id: string;
  info: SampleInfo;
  build(): QASample;
}

/** Checks one sample line (`where` = file:line) against the format, probing its files; reads no file data. */
export function checkSampleLine(line: string, where: string, dir: string): CheckedSample {
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
  const schema = kind === 'generation' ? jsonlGenerationSampleSchema : jsonlSampleSchema;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new Error(`${where}: ${formatIssues(schema, raw, parsed.error.issues).join('; ')}`);
  const s = parsed.data;
  const pieces = typeof s.prompt === 'string' ? [{ text: s.prompt }] : s.prompt.map((p, j) => parsePiece(p, `${where}: prompt[${j}]`));
  checkMediaPrompt(pieces, s.addBos, where);
  const segments = pieces.map((p, j) => checkSegment(p, dir, `${where}: prompt[${j}]`, s.id));
  const evidence = s.evidence && resolveEvidence(s.evidence, pieces, `${where}: evidence`);
  const info: SampleInfo = { id: s.id, family: s.family, ...answerFields(s), ...evidence, ...(s.questionAt !== undefined && { questionAt: s.questionAt }) };
  return { id: s.id, info, build: () => ({ ...info, prompt: { segments: segments.map((build) => build()), addBos: s.addBos } }) };
}

/** Indexes (and checks) the first `limit` samples: byte offsets and ids, no file data. */
export function indexJsonlDataset(file: string, limit = Infinity): IndexedLine<SampleInfo>[] {
  const dir = dirname(file);
  let first: { kind: SampleKind; where: string } | undefined;
  return indexSampleLines(file, limit, (text, where) => {
    const checked = checkSampleLine(text, where, dir);
    const kind: SampleKind = checked.info.reference ? 'generation' : 'choice';
    first ??= { kind, where };
    if (kind !== first.kind) throw new Error(mixedKindsMessage(JSON.parse(text), where, first));
    return checked;
  });
}

/** Reads, checks and builds one indexed sample (its files read now). */
export function loadIndexedSample(file: string, line: IndexedLine<SampleInfo>): QASample {
  return checkSampleLine(readLine(file, line.span).trim(), `${file}:${line.span.lineNo}`, dirname(file)).build();
}

/** Reads the first `limit` samples of a JSONL dataset, all files at once; errors name file:line and the field. */
export function loadJsonlDataset(file: string, limit = Infinity): QASample[] {
  return indexJsonlDataset(file, limit).map((line) => loadIndexedSample(file, line));
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

/** Checks a piece (probing its file) and returns what builds its segment (reading the file). */
function checkSegment(p: Piece, dir: string, where: string, id: string): () => PromptSegment {
  if ('video' in p || 'audio' in p || 'image' in p) {
    const media = mediaSegment(p, dir, where, id);
    return () => media;
  }
  const pos = p.positions && flatPositions(p.positions, `${where}.positions`);
  if ('text' in p) return () => ({ kind: 'text', text: p.text, positions: pos });
  if ('tokens' in p) {
    if (pos) checkPositionCount(pos, p.positions!, p.tokens.length, `${where}.positions`);
    return () => ({ kind: 'tokens', ids: p.tokens, positions: pos });
  }
  const field = `${where}.${'embeddings' in p ? 'embeddings' : 'features'}`;
  const info = probeEmbeddingFile(resolve(dir, 'embeddings' in p ? p.embeddings : p.features), field, p.tensor);
  const file = info.file;
  const n = 'embeddings' in p ? p.n : info.elements / p.featureDim;
  if (!Number.isInteger(n) || info.elements % n !== 0) {
    throw new Error(`${where}: ${file} holds ${info.elements} floats, not a whole number of ${'embeddings' in p ? `${p.n} rows` : `rows of ${p.featureDim}`}`);
  }
  if (info.shape && ('embeddings' in p ? info.shape[0] !== p.n : info.shape[1] !== p.featureDim)) {
    const want = 'embeddings' in p ? `[${p.n}][hidden] (n = ${p.n})` : `[n][${p.featureDim}] (featureDim = ${p.featureDim})`;
    throw new Error(`${field}: tensor "${info.tensor}" of ${file} has shape [${info.shape.join(', ')}]; expected ${want}`);
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
  const featureDim = 'features' in p ? p.featureDim : 0;
  return () => {
    const data = readEmbeddingFile(info, field);
    return 'embeddings' in p ? { kind: 'embeddings', ...common, data } : { kind: 'features', ...common, featureDim, data };
  };
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

type MediaPiece = Extract<Piece, { video: string } | { audio: string } | { image: string }>;

/** A media piece's segment: the file is checked to exist now and read by the towers at run time. */
function mediaSegment(p: MediaPiece, dir: string, where: string, id: string): PromptSegment {
  const kind = 'video' in p ? 'video' : 'audio' in p ? 'audio' : 'image';
  const file = resolve(dir, 'video' in p ? p.video : 'audio' in p ? p.audio : p.image);
  let stat;
  try {
    stat = statSync(file);
  } catch {
    throw new Error(`${where}.${kind}: sample "${id}": media file "${file}" not found`);
  }
  if (!stat.isFile()) throw new Error(`${where}.${kind}: sample "${id}": "${file}" is ${stat.isDirectory() ? 'a directory' : 'not a regular file'}; expected a ${kind} file`);
  if (!('video' in p)) return { kind: 'media', request: { kind, file } };
  const request = p.audioFromVideo ? { kind: 'video' as const, file, audioFromVideo: true } : { kind: 'video' as const, file };
  return { kind: 'media', request, start: p.start, end: p.end };
}

/**
 * A prompt with media is framed by the model's chat template at run time, which takes text
 * and media only, and writes the prompt's start itself (so addBos has no meaning there).
 */
function checkMediaPrompt(pieces: readonly Piece[], addBos: boolean | undefined, where: string): void {
  const isMedia = (p: Piece) => 'video' in p || 'audio' in p || 'image' in p;
  if (!pieces.some(isMedia)) return;
  const other = pieces.findIndex((p) => !isMedia(p) && !('text' in p));
  if (other >= 0) {
    const kind = ['tokens', 'embeddings', 'features'].find((k) => k in pieces[other]!) ?? 'non-text';
    throw new Error(`${where}: prompt[${other}]: a ${kind} piece cannot join media pieces; expected only {text} and {video} | {audio} | {image} pieces (the model's chat template frames them)`);
  }
  const placed = pieces.findIndex((p) => 'text' in p && p.positions);
  if (placed >= 0) throw new Error(`${where}: prompt[${placed}].positions: not allowed beside media pieces (the model family places every token of a framed prompt)`);
  if (addBos !== undefined) throw new Error(`${where}: addBos: not allowed on a sample with media pieces (the model's chat template writes the prompt's start)`);
}
