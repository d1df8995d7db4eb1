/**
 * What the question head reads: the attention mass of the answer row's question head (layer 0,
 * head 2 by default) on the words of its own question, with the attribute words grouped by
 * kind (`<colour>`, `<shape>`, `<sound>`). The answer head can only retrieve what this head
 * brings into the answer row's query; a head that reads only the family word ("there",
 * "many") leaves the answer head blind to which object or sound was asked.
 */
import { COLOURS, SHAPES, SOUNDS, type Family } from '../datasets/av-world/index.js';
import type { Organism } from './forward.js';
import type { OrtKernels } from './ort-kernels.js';
import type { Vocabulary } from './sequence.js';
import { forEachAnswerRow, type MatchAttentionOptions } from './match-attention.js';

const KIND_OF = new Map<string, string>([...COLOURS.map((w) => [w, '<colour>'] as const), ...SHAPES.map((w) => [w, '<shape>'] as const), ...SOUNDS.map((w) => [w, '<sound>'] as const)]);

/** A question word, or the kind of an attribute word. */
export const questionWordKind = (word: string): string => KIND_OF.get(word) ?? word;

export interface QuestionAttention {
  family: Family;
  /** Answer rows read. */
  n: number;
  /** Mean mass per word (kind), in question order. */
  mass: Array<[string, number]>;
}

export async function questionAttention(k: OrtKernels, model: Organism, vocab: Vocabulary, family: Family, o: MatchAttentionOptions): Promise<QuestionAttention> {
  const mass = new Map<string, number>();
  let n = 0;
  await forEachAnswerRow(k, model, vocab, family, { layer: 0, head: 2, ...o }, ({ question, encoded, attention }) => {
    // The prompt ends with the question's words ("question … answer").
    const words = question.text.split(' ');
    const start = encoded.n - words.length;
    words.forEach((w, i) => mass.set(questionWordKind(w), (mass.get(questionWordKind(w)) ?? 0) + attention[start + i]!));
    n++;
  });
  return { family, n, mass: [...mass].map(([w, m]) => [w, n > 0 ? m / n : 0]) };
}

export function questionAttentionTable(r: QuestionAttention): string {
  return [`| word | mass (${r.family}, ${r.n} answer rows) |`, '|---|---:|', ...r.mass.map(([w, m]) => `| ${w} | ${m.toFixed(3)} |`)].join('\n');
}
