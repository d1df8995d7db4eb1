/**
 * The second pass of a policy that scores the context by how the model reads it again
 * (PolicyInstance.secondPass; KVzip). Before the prefill ends, each chunk [start, end) of the
 * context is fed over the uncompressed cache as a repeat prompt, teacher-forced:
 *   instruction tokens (from the second chunk on: continuation + the previous chunk's last
 *   `overlap` tokens), then the context's tokens [start, end) themselves,
 * and the policy observes every layer (keys of context + repeat, the repeat's queries).
 * The pass runs on a clone of the session per chunk, not on the session itself: the repeat
 * slots never enter the prompt's cache, its statistics and token count stay those of the
 * prefill, and nothing has to be undone (the price: a copy of the cache while a chunk runs).
 * Media context (no token ids) is repeated as the embeddings it was given. The repeat tokens
 * continue the sequence positions, with 1-D RoPE positions after the sequence's next one (the
 * same id on every axis under M-RoPE, as text tokens take).
 */
import type { CacheSession } from '../cache/cache-session.js';
import { ModalityCode } from '../cache/modality.js';
import type { SecondPass } from '../cache/policy-api.js';
import { allocTokenMeta } from '../cache/token-meta.js';
import type { Decoder } from './decoder.js';
import { embedToken, type EmbeddedPrompt } from './embed-prompt.js';
import type { Model } from './model.js';
import { Sequence } from './sequence.js';

/** The second pass the sequence's policy asks for, if any. */
export function secondPassOf(seq: Sequence): SecondPass | undefined {
  return seq.session.options.policy?.secondPass;
}

/** Context ranges [start, end) of at most `chunk` tokens covering 0..n. */
export function repeatChunks(n: number, chunk: number): [number, number][] {
  if (!Number.isInteger(chunk) || chunk < 1) throw new RangeError(`second pass: chunk must be a whole number of tokens ≥ 1; got ${chunk}`);
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += chunk) out.push([s, Math.min(n, s + chunk)]);
  return out;
}

/**
 * A prompt of `ask` token ids followed by the context's rows in `ranges` (copied embeddings
 * and metadata), at sequence positions from `at` and RoPE position ropeAt + i on every axis.
 */
export function repeatPrompt(model: Model, context: EmbeddedPrompt, ask: readonly number[], ranges: readonly [number, number][], at: number, ropeAt: number): EmbeddedPrompt {
  const rows = ranges.flatMap(([s, e]) => Array.from({ length: e - s }, (_, i) => s + i));
  const n = ask.length + rows.length;
  const hidden = model.config.hiddenSize;
  const axes = context.ropePos.length / Math.max(1, context.n);
  const out: EmbeddedPrompt = { n, x: new Float32Array(n * hidden), meta: allocTokenMeta(n), ropePos: new Int32Array(axes * n), ropeNext: ropeAt + n, ids: new Int32Array(n).fill(-1) };
  ask.forEach((id, i) => {
    embedToken(model, id, out.x.subarray(i * hidden, (i + 1) * hidden));
    out.ids[i] = id;
    out.meta.modality[i] = ModalityCode.text;
  });
  rows.forEach((r, k) => {
    const i = ask.length + k;
    out.x.set(context.x.subarray(r * hidden, (r + 1) * hidden), i * hidden);
    out.ids[i] = context.ids[r]!;
    out.meta.modality[i] = context.meta.modality[r]!;
    out.meta.segment[i] = context.meta.segment[r]!;
    out.meta.time[i] = context.meta.time[r]!;
    out.meta.row[i] = context.meta.row[r]!;
    out.meta.col[i] = context.meta.col[r]!;
  });
  for (let i = 0; i < n; i++) {
    out.meta.position[i] = at + i;
    for (let a = 0; a < axes; a++) out.ropePos[a * n + i] = ropeAt + i;
  }
  return out;
}

/**
 * Runs the sequence's policy's second pass over `context`, the prompt just prefilled into
 * `seq` (its prefill not ended, nothing compressed); does nothing for other policies.
 */
export function runSecondPass(decoder: Decoder, seq: Sequence, context: EmbeddedPrompt): void {
  const pass = secondPassOf(seq);
  if (!pass) return;
  const session = seq.session;
  const name = session.options.policy!.name;
  if (seq.length !== context.n || session.currentPhase !== 'prefill') {
    throw new Error(`policy "${name}": its second pass reads the prompt's ${context.n} tokens before the prefill ends; this sequence holds ${seq.length} tokens in phase ${session.currentPhase}`);
  }
  for (let l = 0; l < session.options.numLayers; l++) {
    if (session.layer(l).totalSlots() !== context.n * session.options.kvHeads) {
      throw new Error(`policy "${name}": its second pass needs the uncompressed prompt, but layer ${l} was compressed during the prefill (a streamed prefill holding its budget); prefill in one pass or without holding`);
    }
  }
  const model = decoder.model;
  const chunks = repeatChunks(context.n, pass.chunk);
  chunks.forEach(([start, end], i) => {
    const ask = model.tokenizer.encode(i === 0 ? pass.instruction : pass.continuation);
    const prevEnd = i === 0 ? 0 : chunks[i - 1]![1];
    const ranges: [number, number][] = i === 0 ? [[start, end]] : [[Math.max(chunks[i - 1]![0], prevEnd - pass.overlap), prevEnd], [start, end]];
    const repeat = repeatPrompt(model, context, ask, ranges, seq.length, seq.ropeNext);
    const clone = new Sequence(session.cloneGathering({ recentQueries: repeat.n }), seq.length, seq.ropeNext);
    decoder.extend(clone, repeat);
    observeRepeat(clone.session, pass, context.n, start, end, repeat.n);
  });
}

/**
 * Hands every layer of `session`, which has just attended a repeat of n tokens (gathering
 * their queries), to the pass. Model-free, so hand-driven sessions can run a pass too.
 */
export function observeRepeat(session: CacheSession, pass: SecondPass, contextLength: number, start: number, end: number, n: number): void {
  const { numLayers, qHeads, headDim } = session.options;
  for (let l = 0; l < numLayers; l++) {
    const q = session.lastStats(l)?.recentQueries;
    if (!q || q.positions.length !== n) throw new Error(`second pass: layer ${l} did not gather the repeat's ${n} queries (open the pass with cloneGathering({ recentQueries: ${n} }))`);
    pass.observe({ layer: l, view: session.layer(l).view(), queries: q.q, n, qHeads, contextLength, start, end, scale: session.options.scale ?? 1 / Math.sqrt(headDim) });
  }
}
