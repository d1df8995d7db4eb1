/**
 * Encodes prompts into the organism's token rows: text words → vocabulary ids, feature
 * spans → rows of media features, and batches several sequences (right-padded; padding
 * after a causal sequence cannot change it) for one pass.
 */
import type { Prompt } from '../model/prompt.js';
import { ModalityCode } from '../cache/modality.js';

export interface Vocabulary {
  words: readonly string[];
  ids: ReadonlyMap<string, number>;
  bos: number;
  pad: number;
}

export function makeVocabulary(words: readonly string[]): Vocabulary {
  const ids = new Map(words.map((w, i) => [w, i] as const));
  return { words, ids, bos: ids.get('<s>') ?? 1, pad: ids.get('<pad>') ?? 0 };
}

/** Word-level tokenization (whitespace split); unknown words are an error naming the word. */
export function tokenizeWords(text: string, vocab: Vocabulary): number[] {
  return text.split(/\s+/).filter((w) => w.length > 0).map((w) => {
    const id = vocab.ids.get(w);
    if (id === undefined) throw new RangeError(`organism tokenizer: word "${w}" is not in the vocabulary`);
    return id;
  });
}

export interface EncodedPrompt {
  n: number;
  /** [n] vocabulary id of text rows, −1 for media rows. */
  ids: Int32Array;
  /** [n] ModalityCode per row. */
  modality: Uint8Array;
  /** Media rows: positions and features [rows][featureDim]. */
  media: { video: { pos: number[]; feat: Float32Array[] }; audio: { pos: number[]; feat: Float32Array[] } };
}

export function encodePrompt(prompt: Prompt, vocab: Vocabulary): EncodedPrompt {
  const ids: number[] = [];
  const mod: number[] = [];
  const media: EncodedPrompt['media'] = { video: { pos: [], feat: [] }, audio: { pos: [], feat: [] } };
  if (prompt.addBos !== false) {
    ids.push(vocab.bos);
    mod.push(ModalityCode.text);
  }
  for (const seg of prompt.segments) {
    if (seg.kind === 'text' || seg.kind === 'tokens') {
      for (const id of seg.kind === 'text' ? tokenizeWords(seg.text, vocab) : seg.ids) {
        ids.push(id);
        mod.push(ModalityCode.text);
      }
    } else if (seg.kind === 'features' && (seg.modality === 'video' || seg.modality === 'audio')) {
      const m = media[seg.modality];
      m.pos.push(...Array.from({ length: seg.n }, (_, i) => ids.length + i));
      m.feat.push(seg.data.subarray(0, seg.n * seg.featureDim));
      for (let i = 0; i < seg.n; i++) {
        ids.push(-1);
        mod.push(ModalityCode[seg.modality]);
      }
    } else {
      throw new TypeError(`organism prompt: a ${seg.kind} segment of modality ${'modality' in seg ? seg.modality : '?'} is not supported (expected text, tokens, or video/audio features)`);
    }
  }
  return { n: ids.length, ids: Int32Array.from(ids), modality: Uint8Array.from(mod), media };
}

export interface Target {
  /** Row in the batch (b·n + position) whose next-token logits are scored. */
  row: number;
  label: number;
  /** Auxiliary (dense media) target rather than an answer. */
  aux?: boolean;
}

export interface Batch {
  batch: number;
  n: number;
  ids: Int32Array;
  modality: Uint8Array;
  videoRows: Int32Array;
  videoFeat: Float32Array;
  audioRows: Int32Array;
  audioFeat: Float32Array;
  targets: Target[];
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Batches encoded prompts; targets[i] are (position, label[, aux]) within prompt i. */
export function makeBatch(prompts: EncodedPrompt[], targets: Array<Array<[number, number, boolean?]>>, pad: number): Batch {
  const B = prompts.length;
  const n = Math.max(...prompts.map((p) => p.n));
  const ids = new Int32Array(B * n).fill(pad);
  const modality = new Uint8Array(B * n);
  const rows = { video: [] as number[], audio: [] as number[] };
  const feats = { video: [] as Float32Array[], audio: [] as Float32Array[] };
  const tg: Target[] = [];
  prompts.forEach((p, b) => {
    ids.set(p.ids, b * n);
    modality.set(p.modality, b * n);
    for (const m of ['video', 'audio'] as const) {
      rows[m].push(...p.media[m].pos.map((x) => b * n + x));
      feats[m].push(...p.media[m].feat);
    }
    for (const [pos, label, aux] of targets[b] ?? []) tg.push({ row: b * n + pos, label, aux: aux === true });
  });
  return {
    batch: B, n, ids, modality,
    videoRows: Int32Array.from(rows.video), videoFeat: concat(feats.video),
    audioRows: Int32Array.from(rows.audio), audioFeat: concat(feats.audio),
    targets: tg,
  };
}
