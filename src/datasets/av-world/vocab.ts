/**
 * The closed vocabulary of the AV world: object shapes and colours, sound classes, stereo
 * pans, count words, and the words of the question templates. Every answer is one word,
 * so the organism's tokenizer maps each answer to exactly one token.
 */
export const SHAPES = ['circle', 'square', 'triangle', 'cross'] as const;
export const COLOURS = ['red', 'green', 'blue', 'yellow'] as const;
export const SOUNDS = ['tone', 'chirp', 'noise', 'buzz'] as const;
export const PANS = ['left', 'center', 'right'] as const;
export const COUNTS = ['one', 'two', 'three'] as const;
export const YES_NO = ['yes', 'no'] as const;

export type Shape = (typeof SHAPES)[number];
export type Colour = (typeof COLOURS)[number];
export type Sound = (typeof SOUNDS)[number];
export type Pan = (typeof PANS)[number];

/** Question families, mirroring AV benchmark subtasks (MVBench AV, AVQA, MUSIC-AVQA). */
export const FAMILIES = ['av-visible', 'sound-order', 'sound-count', 'moved-object', 'sound-source', 'object-exists'] as const;
export type Family = (typeof FAMILIES)[number];

/** Words of the question templates (besides the attribute words above). */
export const TEMPLATE_WORDS = [
  'question', 'answer', 'what', 'shape', 'was', 'visible', 'when', 'the', 'sounded', 'which', 'sound', 'came',
  'first', 'or', 'how', 'many', 'times', 'did', 'colour', 'object', 'that', 'moved', 'made', 'there', 'a',
] as const;

/** Special tokens, ids 0..3 of the tokenizer. */
export const SPECIAL_TOKENS = ['<pad>', '<s>', '</s>', '<unk>'] as const;

/** Every word of the world, in tokenizer id order (special tokens first). */
export function worldVocabulary(): string[] {
  const words = [...SPECIAL_TOKENS, ...TEMPLATE_WORDS, ...SHAPES, ...COLOURS, ...SOUNDS, ...PANS, ...COUNTS, ...YES_NO];
  if (new Set(words).size !== words.length) throw new Error('av-world vocabulary has a duplicate word');
  return words;
}
