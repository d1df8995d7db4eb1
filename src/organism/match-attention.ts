/**
 * Where the answer head looks on object-exists questions ("was there a <colour> <shape>"):
 * the attention mass of the answer row on the patches of objects that match both asked
 * attributes, only the colour, only the shape, and on `<s>`, split by the true answer. Tells
 * retrieval failures (mass on partial matches when the object is there) from readout failures
 * (the right object found, the wrong word answered).
 */
import { clipSegments, clipWithQuestions, objectPatches, withFrames, PRESETS, type Clip, type Family, type Question, type Split } from '../datasets/av-world/index.js';
import { crossEntropy, forward, type Organism } from './forward.js';
import type { OrtKernels } from './ort-kernels.js';
import { encodePrompt, makeBatch, tokenizeWords, type EncodedPrompt, type Vocabulary } from './sequence.js';

export const MATCH_KINDS = ['both', 'colour only', 'shape only', '<s>'] as const;
export type MatchKind = (typeof MATCH_KINDS)[number];

export interface MatchAttentionRow {
  answer: 'yes' | 'no';
  n: number;
  /** Share of these questions answered correctly. */
  accuracy: number;
  /** Mean attention mass of the answer row's head on each kind of token. */
  mass: Record<MatchKind, number>;
}

export interface MatchAttentionOptions {
  frames: number;
  clips: number;
  split?: Split;
  seed?: number;
  /** Layer and head read (default: the supervised answer head, last layer head 0). */
  layer?: number;
  head?: number;
}

/** One posed question, read at its answer row: the attention row of the chosen head and whether the answer was right. */
export interface AnswerRowVisit {
  clip: Clip;
  question: Question;
  encoded: EncodedPrompt;
  /** Attention probabilities of the answer row over the prompt (length encoded.n). */
  attention: Float32Array;
  hit: boolean;
}

/**
 * Poses every question of `family` that each clip can pose (up to 3), runs the forward with
 * attention probabilities and hands the chosen head's answer row to `visit`.
 */
export async function forEachAnswerRow(k: OrtKernels, model: Organism, vocab: Vocabulary, family: Family, o: MatchAttentionOptions, visit: (v: AnswerRowVisit) => void): Promise<void> {
  const { config } = model;
  const layer = o.layer ?? config.layers - 1;
  const head = o.head ?? 0;
  if (!(layer >= 0 && layer < config.layers && head >= 0 && head < config.heads)) {
    throw new RangeError(`answer-row attention: layer ${layer} / head ${head} is outside the model (${config.layers} layers, ${config.heads} heads)`);
  }
  const preset = withFrames(PRESETS.default, o.frames);
  for (let index = 0; index < o.clips; index++) {
    const { clip, questions } = clipWithQuestions(preset, o.split ?? 'test', o.seed ?? 0, index, 3);
    for (const question of questions.filter((x) => x.family === family)) {
      const encoded = encodePrompt({ segments: [...clipSegments(clip), { kind: 'text', text: question.text }], addBos: true }, vocab);
      const row = encoded.n - 1;
      const batch = makeBatch([encoded], [[[row, tokenizeWords(question.choices[question.answer]!, vocab)[0]!]]], vocab.pad);
      const f = await forward(k, model, batch, { withProbs: true });
      const hit = crossEntropy(f.logits, batch.targets, config.vocab).hits[0]!;
      const base = (head * batch.n + row) * batch.n;
      visit({ clip, question, encoded, attention: f.probs![layer]!.subarray(base, base + encoded.n), hit });
    }
  }
}

export async function matchAttention(k: OrtKernels, model: Organism, vocab: Vocabulary, o: MatchAttentionOptions): Promise<MatchAttentionRow[]> {
  const acc = { yes: newRow('yes'), no: newRow('no') };
  await forEachAnswerRow(k, model, vocab, 'object-exists', o, ({ clip, question: q, encoded: enc, attention: p, hit }) => {
    // "question was there a <colour> <shape> answer": the two attribute words before "answer".
    const words = q.text.split(' ');
    const [colour, shape] = [words[words.length - 3], words[words.length - 2]];
    const mass: Record<MatchKind, number> = { both: 0, 'colour only': 0, 'shape only': 0, '<s>': p[0]! };
    clip.scene.objects.forEach((obj, i) => {
      const kind: MatchKind | undefined = obj.colour === colour ? (obj.shape === shape ? 'both' : 'colour only') : obj.shape === shape ? 'shape only' : undefined;
      if (!kind) return;
      for (const t of new Set(objectPatches(clip.scene, i, clip.preset))) mass[kind] += p[enc.media.video.pos[t]!]!;
    });
    const r = acc[q.choices[q.answer] === 'yes' ? 'yes' : 'no'];
    r.n++;
    r.accuracy += hit ? 1 : 0;
    for (const m of MATCH_KINDS) r.mass[m] += mass[m];
  });
  return [acc.yes, acc.no].map((r) => ({ ...r, accuracy: r.n ? r.accuracy / r.n : 0, mass: Object.fromEntries(MATCH_KINDS.map((m) => [m, r.n ? r.mass[m] / r.n : 0])) as Record<MatchKind, number> }));
}

function newRow(answer: 'yes' | 'no'): MatchAttentionRow {
  return { answer, n: 0, accuracy: 0, mass: { both: 0, 'colour only': 0, 'shape only': 0, '<s>': 0 } };
}

export function matchAttentionTable(rows: readonly MatchAttentionRow[]): string {
  const head = `| true answer | n | accuracy | ${MATCH_KINDS.map((m) => `mass on ${m}`).join(' | ')} |`;
  const sep = `|---|---:|---:|${MATCH_KINDS.map(() => '---:').join('|')}|`;
  const body = rows.map((r) => `| ${r.answer} | ${r.n} | ${(100 * r.accuracy).toFixed(1)} % | ${MATCH_KINDS.map((m) => r.mass[m].toFixed(3)).join(' | ')} |`);
  return [head, sep, ...body].join('\n');
}
