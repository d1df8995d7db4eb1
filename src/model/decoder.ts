/**
 * The decoder forward of the Llama / Qwen2 family, gpt-fast style: `prefill` and `decodeOne`
 * are separate small functions over one `forward`, a layer is one short function, and all
 * activations live in preallocated workspaces (decode reuses one n = 1 workspace: no
 * allocation per token). Attention goes through the sequence's CacheSession at every layer
 * (append → attend), so whatever policy the session runs, runs inside the model.
 *
 * Per layer: x += o_proj(attn(rope(q), rope(k), v)) on rmsNorm(x);
 *            x += down(silu(gate(h)) · up(h)) on h = rmsNorm(x).
 */
import { ModalityCode } from '../cache/modality.js';
import type { EmbeddedPrompt } from './embed-prompt.js';
import { embedToken } from './embed-prompt.js';
import type { Model } from './model.js';
import { slicePrompt } from './prefill-chunks.js';
import { runSecondPass } from './second-pass.js';
import { fillRopeTables, inverseFrequencies } from './rope.js';
import { Sequence, type RuntimeSessionOptions } from './sequence.js';
import { Workspace } from './workspace.js';

/** One chunk's report (Decoder.runChunks): tokens prefilled so far, cache bytes before and after holding it at budget. */
export interface ChunkReport {
  index: number;
  tokens: number;
  kvBytesBefore: number;
  kvBytesAfter: number;
}

/** How runChunks cuts and holds a prefill. */
export interface ChunkedPrefill {
  /** Chunk end indices, ascending, the last equal to the prompt's length (prefill-chunks.ts chunkEnds). */
  ends: number[];
  /** Compress every layer back to its budget after each chunk but the last. */
  hold: boolean;
  onChunk?(report: ChunkReport): void;
}

export class Decoder {
  readonly model: Model;
  private readonly step: Workspace;

  constructor(model: Model) {
    this.model = model;
    this.step = new Workspace(model.config, 1);
  }

  /** A fresh sequence with its own cache session. */
  open(opts: RuntimeSessionOptions = {}): Sequence {
    return Sequence.open(this.model, opts);
  }

  /**
   * Runs the prompt through every layer into `seq`'s cache, then its policy's second pass if it
   * asks for one (second-pass.ts), then ends the prefill (the session compresses here). With
   * `chunks`, the prompt runs chunk by chunk (runChunks).
   * Returns the next-token logits [vocab] f32 (a buffer reused by the next call: copy to keep).
   */
  prefill(seq: Sequence, prompt: EmbeddedPrompt, chunks?: ChunkedPrefill): Float32Array {
    const logits = chunks ? this.runChunks(seq, prompt, chunks) : this.runPrompt(seq, prompt);
    runSecondPass(this, seq, prompt); // only for a policy that asks for one (KVzip)
    seq.session.endPrefill();
    return logits;
  }

  /**
   * The prefill's forward pass without its end: the cache holds the whole prompt and no
   * policy has acted, so the sequence can be forked (Sequence.fork) before each fork ends its
   * own prefill. Returns the next-token logits [vocab] f32 (this prompt's own buffer).
   */
  runPrompt(seq: Sequence, prompt: EmbeddedPrompt): Float32Array {
    if (seq.length !== 0) throw new Error(`prefill: the sequence already holds ${seq.length} tokens; open a new one`);
    return this.extend(seq, prompt);
  }

  /**
   * Runs the prompt chunk by chunk (chunked prefill: activations for one chunk at a time).
   * With `hold`, every layer is compressed back to its budget after each chunk but the last
   * (CacheSession.holdAtBudget, the budget resolved against the whole prompt), so the cache
   * never holds more than its budget plus one chunk: the streaming setting. `onChunk` is told
   * each chunk's cache bytes before and after that compression. The prefill is not ended.
   * Returns the last chunk's next-token logits [vocab] f32.
   */
  runChunks(seq: Sequence, prompt: EmbeddedPrompt, chunks: ChunkedPrefill): Float32Array {
    if (seq.length !== 0) throw new Error(`prefill: the sequence already holds ${seq.length} tokens; open a new one`);
    const ends = chunks.ends;
    if (ends.length === 0 || ends.at(-1) !== prompt.n || ends.some((e, i) => !Number.isInteger(e) || e <= (i === 0 ? 0 : ends[i - 1]!))) {
      throw new RangeError(`runChunks: chunk ends must ascend strictly from above 0 to the prompt's ${prompt.n} tokens; got [${ends.join(', ')}]`);
    }
    let logits: Float32Array | undefined;
    let start = 0;
    for (const [i, end] of ends.entries()) {
      logits = this.extend(seq, start === 0 && end === prompt.n ? prompt : slicePrompt(prompt, start, end));
      const last = i === ends.length - 1;
      const before = chunks.onChunk ? seq.session.bytes().kvBytes : 0;
      if (chunks.hold && !last) seq.session.holdAtBudget(prompt.n);
      chunks.onChunk?.({ index: i, tokens: end, kvBytesBefore: before, kvBytesAfter: chunks.hold && !last ? seq.session.bytes().kvBytes : before });
      start = end;
    }
    return logits!;
  }

  /**
   * Feeds `chunk`, the prompt's next tokens (its positions continue the sequence), through
   * every layer without ending the prefill. Returns the next-token logits [vocab] f32.
   */
  extend(seq: Sequence, chunk: EmbeddedPrompt): Float32Array {
    if (seq.session.currentPhase !== 'prefill') throw new Error('prefill: this sequence has ended its prefill; feed further tokens with decodeOne');
    const ws = new Workspace(this.model.config, chunk.n, chunk);
    ws.x.set(chunk.x); // the residual stream is updated in place; the prompt stays reusable
    const logits = this.forward(seq, ws);
    seq.length += chunk.n;
    seq.ropeNext = chunk.ropeNext;
    return logits;
  }

  /** Feeds one text token; returns the logits [vocab] f32 of the next (reused buffer). */
  decodeOne(seq: Sequence, token: number): Float32Array {
    const ws = this.step;
    embedToken(this.model, token, ws.x);
    ws.meta.position[0] = seq.length;
    ws.meta.modality[0] = ModalityCode.text;
    for (let a = 0; a < ws.ropePos.length; a++) ws.ropePos[a] = seq.ropeNext;
    const logits = this.forward(seq, ws);
    seq.length++;
    seq.ropeNext++;
    seq.session.endStep();
    return logits;
  }

  private forward(seq: Sequence, ws: Workspace): Float32Array {
    const { config: c, weights: w, backend: b } = this.model;
    const n = ws.n;
    let maxPos = 0;
    for (let i = 0; i < ws.ropePos.length; i++) maxPos = Math.max(maxPos, ws.ropePos[i]!);
    inverseFrequencies(c.rope, maxPos + 1, ws.invFreq);
    fillRopeTables(c.rope, ws.invFreq, ws.ropePos, n, 0, n, ws.cos, ws.sin);
    for (let l = 0; l < c.numLayers; l++) this.layer(l, seq, ws);
    const h = c.hiddenSize;
    const last = n === 1 ? ws.x : ws.x.subarray((n - 1) * h, n * h);
    b.rmsNorm(last, 1, h, w.norm, c.rmsNormEps, ws.lastNorm);
    return b.linear(ws.lastNorm, 1, w.lmHead, undefined, ws.logits);
  }

  private layer(l: number, seq: Sequence, ws: Workspace): void {
    const { config: c, backend: b } = this.model;
    const w = this.model.weights.layers[l]!;
    const { n } = ws;
    const h = c.hiddenSize;
    b.rmsNorm(ws.x, n, h, w.inputNorm, c.rmsNormEps, ws.xn);
    b.linear(ws.xn, n, w.q, w.qBias, ws.q);
    b.linear(ws.xn, n, w.k, w.kBias, ws.k);
    b.linear(ws.xn, n, w.v, w.vBias, ws.v);
    b.rope(ws.q, n, c.qHeads, c.headDim, c.rope.rotaryDim, ws.cos, ws.sin);
    b.rope(ws.k, n, c.kvHeads, c.headDim, c.rope.rotaryDim, ws.cos, ws.sin);
    seq.session.append(l, ws.k, ws.v, ws.meta);
    const att = seq.session.attend(l, ws.q, ws.meta.position, ws.meta.modality, ws.att);
    addInPlace(ws.x, b.linear(att, n, w.o, w.oBias, ws.proj));
    b.rmsNorm(ws.x, n, h, w.postNorm, c.rmsNormEps, ws.xn);
    b.linear(ws.xn, n, w.gate, w.gateBias, ws.gate);
    b.linear(ws.xn, n, w.up, w.upBias, ws.up);
    b.siluMul(ws.gate, ws.up, ws.act);
    addInPlace(ws.x, b.linear(ws.act, n, w.down, w.downBias, ws.proj));
  }
}

function addInPlace(x: Float32Array, y: Float32Array): void {
  for (let i = 0; i < x.length; i++) x[i]! += y[i]!;
}
