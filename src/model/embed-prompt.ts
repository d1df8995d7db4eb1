/**
 * Prompt → input embeddings, cache metadata and RoPE positions.
 *
 * Every token gets `position` = its index in the sequence (the cache's causal mask compares
 * these), modality, segment (span index unless the span names one; -1 for text), time, row
 * and col from its span. RoPE positions equal `position` except under sectioned mrope
 * (Qwen2-VL family), where each token has (t, h, w) ids, as Qwen2-VL's get_rope_index does:
 * - text token: t = h = w = next, next += 1;
 * - span token with row/col: t = st + ⌊(time − time₀) × positionsPerSecond⌋ (st when the
 *   span has no time; truncated, as transformers' `.long()` does), h = st + row, w = st + col,
 *   with st = next at the span start and time₀ the span's earliest time;
 * - span token without row/col (audio): t = h = w = st + ⌊(time − time₀) × pps⌋, or
 *   st + i when the span has no time (sequential, like text);
 * after a span, next = 1 + the largest id it used.
 * A segment with explicit `positions` ([n] or [3][n]) takes them as given, and next = 1 + its
 * largest id. The position after the prompt (`ropeNext`) is 1 + the largest id of the whole
 * prompt (transformers' mrope_position_deltas); the exact per-family rules live in
 * src/model/families.
 */
import { modalityCode } from '../cache/modality.js';
import { allocTokenMeta, type TokenMeta } from '../cache/token-meta.js';
import type { Prompt, PromptSegment } from './prompt.js';
import { decodeToF32 } from '../util/half.js';
import type { Model } from './model.js';
import { projectFeatures } from './projector.js';
import { ropeAxes } from './rope.js';

export interface EmbeddedPrompt {
  n: number;
  /** [n][hidden] f32 input embeddings. */
  x: Float32Array;
  meta: TokenMeta;
  /** [axes][n] RoPE position ids (axes = 3 under mrope, else 1). */
  ropePos: Int32Array;
  /** RoPE position of the token after the prompt. */
  ropeNext: number;
  /** [n] token id per position, -1 for span tokens. */
  ids: Int32Array;
}

type Span = Exclude<PromptSegment, { kind: 'text' | 'tokens' | 'media' }>;
type Piece = { kind: 'ids'; ids: number[]; positions?: Int32Array; where?: string } | { kind: 'span'; seg: Span; where: string };

/** Writes the embedding row of token `id` into dst [hidden] f32. */
export function embedToken(model: Model, id: number, dst: Float32Array): void {
  const { embed } = model.weights;
  const h = embed.inFeatures;
  if (!Number.isInteger(id) || id < 0 || id >= embed.outFeatures) throw new RangeError(`token id ${id} is outside the vocabulary (0..${embed.outFeatures - 1})`);
  decodeToF32(embed.data, embed.dtype, id * h, h, dst);
}

export function embedPrompt(model: Model, prompt: Prompt): EmbeddedPrompt {
  const hidden = model.config.hiddenSize;
  const tok = model.tokenizer;
  const pieces: Piece[] = [];
  if ((prompt.addBos ?? tok.addsBos) && tok.bosId !== null) pieces.push({ kind: 'ids', ids: [tok.bosId] });
  prompt.segments.forEach((seg, i) => {
    const where = `prompt.segments[${i}] (${seg.kind})`;
    if (seg.kind === 'text') pieces.push({ kind: 'ids', ids: tok.encode(seg.text), positions: seg.positions, where });
    else if (seg.kind === 'tokens') pieces.push({ kind: 'ids', ids: [...seg.ids], positions: seg.positions, where });
    else if (seg.kind === 'media') throw new Error(`${where}: ${seg.request.file}: media segments must be encoded first: encodeMedia + buildChatPrompt`);
    else {
      validateSpan(seg, i, hidden);
      pieces.push({ kind: 'span', seg, where });
    }
  });
  const n = pieces.reduce((s, p) => s + (p.kind === 'ids' ? p.ids.length : p.seg.n), 0);
  if (n === 0) throw new Error('prompt is empty: give at least one token (or keep addBos on a model with BOS)');
  const axes = ropeAxes(model.config.rope);
  const out: EmbeddedPrompt = { n, x: new Float32Array(n * hidden), meta: allocTokenMeta(n), ropePos: new Int32Array(axes * n), ropeNext: 0, ids: new Int32Array(n).fill(-1) };
  let at = 0;
  let spanIndex = 0;
  let largest = -1;
  for (const p of pieces) {
    const explicit = p.kind === 'ids' ? p.positions : p.seg.positions;
    const count = p.kind === 'ids' ? p.ids.length : p.seg.n;
    if (explicit) {
      const max = writeExplicitPositions(explicit, count, axes, at, n, out.ropePos, `${p.where}.positions`);
      if (count > 0) {
        largest = Math.max(largest, max);
        out.ropeNext = max + 1;
      }
    }
    if (p.kind === 'ids') {
      for (const id of p.ids) {
        embedToken(model, id, out.x.subarray(at * hidden, (at + 1) * hidden));
        out.ids[at] = id;
        out.meta.position[at] = at;
        if (!explicit) {
          for (let a = 0; a < axes; a++) out.ropePos[a * n + at] = out.ropeNext;
          out.ropeNext++;
        }
        at++;
      }
      continue;
    }
    const s = p.seg;
    const dst = out.x.subarray(at * hidden, (at + s.n) * hidden);
    if (s.kind === 'embeddings') dst.set(s.data);
    else projectFeatures(model, s.modality, s.data, s.n, s.featureDim, dst);
    const code = modalityCode(s.modality);
    for (let i = 0; i < s.n; i++) {
      const j = at + i;
      out.meta.position[j] = j;
      out.meta.modality[j] = code;
      out.meta.segment[j] = s.segment ?? spanIndex;
      if (s.time) out.meta.time[j] = s.time[i]!;
      if (s.row) out.meta.row[j] = s.row[i]!;
      if (s.col) out.meta.col[j] = s.col[i]!;
    }
    if (!explicit) out.ropeNext = spanRopePositions(s, at, n, axes, model.config.rope.positionsPerSecond, out.ropePos, out.ropeNext);
    at += s.n;
    spanIndex++;
  }
  out.ropeNext = Math.max(out.ropeNext, largest + 1);
  return out;
}

/**
 * Copies explicit ids ([count] or [axes][count]) into pos [axes][n] at offset `at`; returns
 * the largest id. Throws naming `where` for a wrong length or an id that is not a whole number ≥ 0.
 */
function writeExplicitPositions(ids: Int32Array, count: number, axes: number, at: number, n: number, pos: Int32Array, where: string): number {
  const perAxis = ids.length === count;
  if (!perAxis && ids.length !== axes * count) {
    const forms = axes === 1 ? `[n] = ${count}` : `[n] = ${count} or [3][n] = ${3 * count}`;
    throw new RangeError(`${where}: has ${ids.length} ids; expected ${forms} for this segment's ${count} tokens`);
  }
  let max = -1;
  for (let a = 0; a < axes; a++) {
    for (let i = 0; i < count; i++) {
      const v = ids[perAxis ? i : a * count + i]!;
      if (v < 0) throw new RangeError(`${where}[${perAxis ? i : `${a}][${i}`}] is ${v}; expected a whole number ≥ 0`);
      pos[a * n + at + i] = v;
      if (v > max) max = v;
    }
  }
  return max;
}

/** Fills the RoPE ids of one span (see the file header); returns the next text position. */
function spanRopePositions(s: Span, at: number, n: number, axes: number, pps: number, pos: Int32Array, st: number): number {
  if (axes === 1) {
    for (let i = 0; i < s.n; i++) pos[at + i] = at + i;
    return at + s.n;
  }
  let t0 = Infinity;
  if (s.time) for (let i = 0; i < s.n; i++) t0 = Math.min(t0, s.time[i]!);
  let max = st - 1;
  for (let i = 0; i < s.n; i++) {
    const t = s.time ? st + Math.floor((s.time[i]! - t0) * pps) : s.row || s.col ? st : st + i;
    const h = s.row ? st + s.row[i]! : t;
    const w = s.col ? st + s.col[i]! : t;
    pos[at + i] = t;
    pos[n + at + i] = h;
    pos[2 * n + at + i] = w;
    max = Math.max(max, t, h, w);
  }
  return max + 1;
}

function validateSpan(s: Span, i: number, hidden: number): void {
  const where = `prompt.segments[${i}] (${s.kind}, ${s.modality})`;
  if (!Number.isInteger(s.n) || s.n < 0) throw new RangeError(`${where}: n must be a whole number ≥ 0; got ${s.n}`);
  const width = s.kind === 'embeddings' ? hidden : s.featureDim;
  if (s.data.length !== s.n * width) {
    throw new RangeError(`${where}: data holds ${s.data.length} values; expected n×${s.kind === 'embeddings' ? 'hidden' : 'featureDim'} = ${s.n}×${width}`);
  }
  for (const f of ['time', 'row', 'col'] as const) {
    const a = s[f];
    if (a && a.length !== s.n) throw new RangeError(`${where}: ${f} has length ${a.length}; expected n = ${s.n}`);
  }
}
