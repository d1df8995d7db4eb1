/**
 * The llama2.c tokenizer.bin format (TinyStories family): int32 max_token_length, then per
 * token: f32 score, i32 byte length, UTF-8 bytes. SentencePiece BPE with byte fallback
 * (`<0xNN>` pieces at ids 3..258), BOS = 1, EOS = 2, spaces stored as ' '. Encoding follows
 * llama2.c's `encode`: a dummy-prefix space, one piece per code point (bytes when absent),
 * then repeatedly merge the adjacent pair whose merged piece has the highest score.
 */
import { readFileSync } from 'node:fs';
import type { TextTokenizer } from './tokenizer.js';

const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

export class Llama2cTokenizer implements TextTokenizer {
  readonly vocabSize: number;
  readonly bosId = 1;
  readonly eosIds = [2];
  readonly addsBos = true;
  private readonly pieces: string[];
  private readonly scores: Float32Array;
  private readonly ids = new Map<string, number>();
  /** Byte value per id for `<0xNN>` pieces, else -1. */
  private readonly byteOf: Int16Array;
  private readonly byteId = new Int32Array(256).fill(-1);

  constructor(pieces: string[], scores: Float32Array) {
    this.pieces = pieces;
    this.scores = scores;
    this.vocabSize = pieces.length;
    this.byteOf = new Int16Array(pieces.length).fill(-1);
    pieces.forEach((p, i) => {
      if (!this.ids.has(p)) this.ids.set(p, i);
      const m = BYTE_PIECE.exec(p);
      if (m) {
        this.byteOf[i] = parseInt(m[1]!, 16);
        this.byteId[this.byteOf[i]!] = i;
      }
    });
  }

  /** Reads tokenizer.bin with `vocabSize` entries (the model's vocab size; the file does not store it). */
  static load(file: string, vocabSize: number): Llama2cTokenizer {
    const buf = readFileSync(file);
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const pieces: string[] = [];
    const scores = new Float32Array(vocabSize);
    const dec = new TextDecoder('utf-8');
    let off = 4;
    if (buf.length < 4) throw new Error(`${file}: too short for a llama2.c tokenizer (needs int32 max_token_length)`);
    for (let i = 0; i < vocabSize; i++) {
      if (off + 8 > buf.length) throw new Error(`${file}: ends at token ${i}; expected ${vocabSize} tokens (score f32, length i32, bytes)`);
      scores[i] = dv.getFloat32(off, true);
      const len = dv.getInt32(off + 4, true);
      off += 8;
      if (len < 0 || off + len > buf.length) throw new Error(`${file}: token ${i} has byte length ${len}, past the end of the file`);
      pieces.push(dec.decode(buf.subarray(off, off + len)));
      off += len;
    }
    return new Llama2cTokenizer(pieces, scores);
  }

  encode(text: string): number[] {
    if (text.length === 0) return [];
    const tokens: number[] = [];
    const space = this.ids.get(' ');
    if (space !== undefined) tokens.push(space);
    for (const cp of text) {
      const id = this.ids.get(cp);
      if (id !== undefined) {
        tokens.push(id);
        continue;
      }
      for (const b of new TextEncoder().encode(cp)) {
        const bid = this.byteId[b]!;
        if (bid < 0) throw new Error(`tokenizer: no piece or byte fallback for byte 0x${b.toString(16)} of "${cp}"`);
        tokens.push(bid);
      }
    }
    for (;;) {
      let best = -Infinity;
      let bestId = -1;
      let bestIdx = -1;
      for (let i = 0; i + 1 < tokens.length; i++) {
        const id = this.ids.get(this.pieces[tokens[i]!]! + this.pieces[tokens[i + 1]!]!);
        if (id !== undefined && this.scores[id]! > best) {
          best = this.scores[id]!;
          bestId = id;
          bestIdx = i;
        }
      }
      if (bestIdx < 0) break;
      tokens.splice(bestIdx, 2, bestId);
    }
    return tokens;
  }

  /** Decodes ids, skipping BOS/EOS; the dummy-prefix space of the first piece is dropped. */
  decode(ids: readonly number[]): string {
    const bytes: number[] = [];
    const enc = new TextEncoder();
    let first = true;
    for (const id of ids) {
      if (id === this.bosId || this.eosIds.includes(id)) continue;
      if (id < 0 || id >= this.vocabSize) throw new RangeError(`tokenizer: id ${id} is outside the vocabulary (0..${this.vocabSize - 1})`);
      const b = this.byteOf[id]!;
      if (b >= 0) bytes.push(b);
      else {
        const piece = first && this.pieces[id]!.startsWith(' ') ? this.pieces[id]!.slice(1) : this.pieces[id]!;
        for (const x of enc.encode(piece)) bytes.push(x);
      }
      first = false;
    }
    return new TextDecoder('utf-8').decode(new Uint8Array(bytes));
  }

  piece(id: number): string {
    return this.pieces[id] ?? '';
  }
}
