/**
 * Training sequences: one clip followed by several of its questions, each answered in
 * place ("question … answer <word> question … answer <word> …"), so one pass over the
 * expensive media trains every family the clip can pose. Clip length follows a curriculum.
 */
import { clipWithQuestions, clipSegments, PRESETS, withFrames, Rng } from '../../datasets/av-world/index.js';
import type { Clip, Question } from '../../datasets/av-world/index.js';
import { encodePrompt, tokenizeWords, type EncodedPrompt, type Vocabulary } from './sequence.js';

export interface TrainSequence {
  encoded: EncodedPrompt;
  /**
   * (position, label[, aux]): the row of each "answer" word and the id of the word that
   * follows; with aux, media rows labelled with what they show (shape of the object in a
   * patch, class of the sound in an audio token): dense "alignment" supervision that stands
   * in for the pretrained encoders a real AV-LLM starts from.
   */
  targets: Array<[number, number, boolean?]>;
}

function auxTargets(clip: Clip, encoded: EncodedPrompt, vocab: Vocabulary): Array<[number, number, boolean]> {
  const out: Array<[number, number, boolean]> = [];
  const { gridCols: C, gridRows: R } = clip.preset;
  const vpos = encoded.media.video.pos;
  for (const o of clip.scene.objects) {
    const id = vocab.ids.get(o.shape)!;
    for (let f = o.start; f < o.end; f++) out.push([vpos[(f * R + o.rows[f - o.start]!) * C + o.cols[f - o.start]!]!, id, true]);
  }
  const apos = encoded.media.audio.pos;
  for (const e of clip.scene.events) {
    const id = vocab.ids.get(e.sound)!;
    for (let t = e.onset; t < e.onset + e.duration; t++) out.push([apos[t]!, id, true]);
  }
  return out;
}

export function packQuestions(questions: readonly Question[], vocab: Vocabulary): { text: string; answerWords: number[] } {
  const parts: string[] = [];
  const answers: number[] = [];
  questions.forEach((q, i) => {
    parts.push(q.text);
    const word = q.choices[q.answer]!;
    answers.push(tokenizeWords(word, vocab)[0]!);
    if (i < questions.length - 1) parts.push(word);
  });
  return { text: parts.join(' '), answerWords: answers };
}

export function trainSequence(frames: number, seed: number, index: number, vocab: Vocabulary, rng: Rng, aux = false, perFamily = 1): TrainSequence {
  const preset = withFrames(PRESETS.default, frames);
  const { clip, questions } = clipWithQuestions(preset, 'train', seed, index, perFamily);
  const { text, answerWords } = packQuestions(rng.shuffle([...questions]), vocab);
  const encoded = encodePrompt({ segments: [...clipSegments(clip), { kind: 'text', text }], addBos: true }, vocab);
  const answerId = vocab.ids.get('answer')!;
  const targets: TrainSequence['targets'] = [];
  let k = 0;
  for (let pos = 0; pos < encoded.n; pos++) if (encoded.ids[pos] === answerId) targets.push([pos, answerWords[k++]!]);
  return { encoded, targets: aux ? [...targets, ...auxTargets(clip, encoded, vocab)] : targets };
}

/**
 * Frames for a step: uniform in [minFrames, cap], the cap rising linearly from minFrames to
 * maxFrames over the first `rampFraction` of training (short clips are ~25× cheaper).
 */
export function curriculumFrames(step: number, steps: number, rng: Rng, minFrames: number, maxFrames: number, rampFraction: number): number {
  const t = Math.min(1, step / Math.max(1, rampFraction * steps));
  const cap = Math.round(minFrames + t * (maxFrames - minFrames));
  return rng.int(minFrames, Math.max(minFrames, cap));
}
