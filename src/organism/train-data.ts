/**
 * Training sequences: one clip followed by several of its questions, each answered in
 * place ("question … answer <word> question … answer <word> …"), so one pass over the
 * expensive media trains every family the clip can pose. Clip length follows a curriculum.
 */
import { COLOURS, SHAPES, SOUNDS, audioTokensPerFrame, clipWithQuestions, clipSegments, eventSource, evidenceTokens, objectPatches, PRESETS, withFrames, Rng } from '../datasets/av-world/index.js';
import type { Clip, Family, Question } from '../datasets/av-world/index.js';
import { encodePrompt, tokenizeWords, type EncodedPrompt, type Vocabulary } from './sequence.js';

export interface TrainSequence {
  encoded: EncodedPrompt;
  /**
   * (position, label[, aux]): the row of each "answer" word and the id of the word that
   * follows; with aux, media rows labelled with what they show (shape of the object in a
   * patch and its colour; class of the sound in an audio token and the shape of the object
   * it comes from): dense "alignment" supervision that stands in for the pretrained
   * encoders and alignment stage a real AV-LLM starts from.
   */
  targets: Array<[number, number, boolean?]>;
  /** Family of each answer target, in the order of the answer targets. */
  families: Family[];
  /**
   * What the readout probe reads at each answer target (same order): the answer word, or
   * for existence read by colour (ExistsBy) the shape the answer head retrieves.
   */
  probeLabels: number[];
  /** The attribute words (sound, colour, shape) each question names, by answer target (same order). */
  askedWords: number[][];
  /** Attention supervision: rows whose attention should fall on `evidence` (positions). */
  attention: AttentionTarget[];
}

/**
 * `answer`: the row before an answer word should read the question's evidence tokens;
 * `question`: that row should also read the question's content words (the sound, colour or
 * shape it names, and the word that tells the family), so it knows what to retrieve;
 * `bind`: a sound-event token should read the patch of the object it comes from in the same
 * frame (how an AV model ties "when/where a sound happened" to what is on screen).
 */
export type AttentionKind = 'answer' | 'question' | 'bind';

export interface AttentionTarget {
  kind: AttentionKind;
  row: number;
  evidence: number[];
  /** Attention spread evenly over the evidence (counting against the sink), not only its mass. */
  uniform?: boolean;
  /** The question family of an `answer` row. */
  family?: Family;
}

function auxTargets(clip: Clip, encoded: EncodedPrompt, vocab: Vocabulary, motion: boolean): Array<[number, number, boolean]> {
  const out: Array<[number, number, boolean]> = motion ? motionTargets(clip, encoded, vocab) : [];
  const { gridCols: C, gridRows: R } = clip.preset;
  const vpos = encoded.media.video.pos;
  for (const o of clip.scene.objects) {
    const shape = vocab.ids.get(o.shape)!;
    const colour = vocab.ids.get(o.colour)!;
    for (let f = o.start; f < o.end; f++) {
      const row = vpos[(f * R + o.rows[f - o.start]!) * C + o.cols[f - o.start]!]!;
      out.push([row, shape, true], [row, colour, true]);
    }
  }
  const apos = encoded.media.audio.pos;
  clip.scene.events.forEach((e, i) => {
    const sound = vocab.ids.get(e.sound)!;
    const source = vocab.ids.get(clip.scene.objects[eventSource(clip.scene, i, C)]!.shape)!;
    for (let t = e.onset; t < e.onset + e.duration; t++) out.push([apos[t]!, sound, true], [apos[t]!, source, true]);
  });
  return out;
}

/**
 * Motion labels (SequenceOptions.motionLabels): the word "moved" on the mover's patch in every
 * frame where it stands away from where it started — a fact the frames up to that one show, so
 * a causal model can compute it; the moving object is then found by one attribute, as sounds are.
 */
export function motionTargets(clip: Clip, encoded: EncodedPrompt, vocab: Vocabulary): Array<[number, number, boolean]> {
  const { gridCols: C, gridRows: R } = clip.preset;
  const o = clip.scene.objects[clip.scene.mover]!;
  const moved = vocab.ids.get('moved')!;
  const out: Array<[number, number, boolean]> = [];
  for (let f = o.start; f < o.end; f++) {
    const i = f - o.start;
    if (o.rows[i] === o.rows[0] && o.cols[i] === o.cols[0]) continue;
    out.push([encoded.media.video.pos[(f * R + o.rows[i]!) * C + o.cols[i]!]!, moved, true]);
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

/**
 * Where an object-exists "no" answer row is supervised to look, since its question has no
 * evidence in the clip: 'none' (not supervised), 'sink' (`<s>`, as counting reads evidence
 * against the sink) or 'self' (the answer row's own key, which carries the asked words and so
 * can score between a partial and a full match for every question). Either makes "nothing
 * matched" a state the answer head can read. 'count' reads existence as counting does: a
 * "yes" row spreads its attention evenly over `<s>` and the object's patches, a "no" row puts
 * it on `<s>`, so the sink's share (≈ 1/(patches + 1) against 1) answers, and the sink never
 * has to score between a partial and a full match, only level with a full one.
 */
export type AbsentEvidence = 'none' | 'sink' | 'self' | 'count';
export const ABSENT_EVIDENCE: readonly AbsentEvidence[] = ['none', 'sink', 'self', 'count'];

/**
 * How the answer head is taught to read an object-exists question. 'object' (default): its
 * attention goes to the named object's patches ("yes" only; see AbsentEvidence for "no"),
 * which needs a key matching colour ∧ shape sharply enough to beat partial matches. 'colour':
 * two hops that each match one attribute, like the families the model solves — the head
 * reads every object of the asked colour (`<s>` when none) and its readout probe is taught
 * the shape it retrieved (the asked one when present); the last MLP then only compares
 * that shape with the asked word, and the answer loss teaches the comparison.
 */
export type ExistsBy = 'object' | 'colour';
export const EXISTS_BY: readonly ExistsBy[] = ['object', 'colour'];

export interface SequenceOptions {
  /** Add the dense media labels and the attention targets (default false: answers only). */
  aux?: boolean;
  /** Distinct questions per family after the clip (default 1). */
  perFamily?: number;
  /** Per-family overrides of perFamily (e.g. more object-exists questions per clip). */
  familyQuestions?: Partial<Record<Family, number>>;
  /** Pose only these families (default: all). */
  only?: readonly Family[];
  /** See AbsentEvidence (default 'none'). */
  absent?: AbsentEvidence;
  /**
   * Counting questions ask for attention spread evenly over `<s>` and the matching onsets
   * (default false: only for their total mass, which all-on-`<s>` satisfies too).
   */
  uniformCount?: boolean;
  /** See ExistsBy (default 'object'). */
  existsBy?: ExistsBy;
  /**
   * The question head spreads its attention evenly over the question's content words
   * (default false: only their total mass, which the one family word satisfies alone).
   */
  uniformQuestion?: boolean;
  /** With aux: label the mover's patches "moved" once it has left its start (see motionTargets; default false). */
  motionLabels?: boolean;
}

export function trainSequence(frames: number, seed: number, index: number, vocab: Vocabulary, rng: Rng, opts: SequenceOptions = {}): TrainSequence {
  const { aux = false, perFamily = 1, familyQuestions = {}, only, absent = 'none', uniformCount = false, existsBy = 'object', uniformQuestion = false, motionLabels = false } = opts;
  const preset = withFrames(PRESETS.default, frames);
  const wanted = (f: Family) => familyQuestions[f] ?? perFamily;
  const { clip, questions: posed } = clipWithQuestions(preset, 'train', seed, index, Math.max(perFamily, ...Object.values(familyQuestions)));
  const taken = new Map<Family, number>();
  const all = posed.filter((q) => {
    const n = taken.get(q.family) ?? 0;
    taken.set(q.family, n + 1);
    return n < wanted(q.family);
  });
  const questions = rng.shuffle(all.filter((q) => !only || only.includes(q.family)));
  const { text, answerWords } = packQuestions(questions, vocab);
  const encoded = encodePrompt({ segments: [...clipSegments(clip), { kind: 'text', text }], addBos: true }, vocab);
  const answerId = vocab.ids.get('answer')!;
  const targets: TrainSequence['targets'] = [];
  let k = 0;
  for (let pos = 0; pos < encoded.n; pos++) if (encoded.ids[pos] === answerId) targets.push([pos, answerWords[k++]!]);
  const hops = questions.map((q) => (existsBy === 'colour' && q.family === 'object-exists' ? existsByColour(clip, q) : undefined));
  const attention = aux
    ? [...answerAttention(clip, questions, encoded, targets, absent, uniformCount, hops), ...questionAttention(encoded, targets, vocab, uniformQuestion), ...bindAttention(clip, encoded)]
    : [];
  const probeLabels = hops.map((hop, i) => (hop ? vocab.ids.get(hop.shape)! : targets[i]![1]));
  const askedWords = questions.map((q) => askedAttributes(q).map((w) => vocab.ids.get(w)!));
  return { encoded, targets: aux ? [...targets, ...auxTargets(clip, encoded, vocab, motionLabels)] : targets, families: questions.map((q) => q.family), probeLabels, askedWords, attention };
}

/**
 * The colour hop of an object-exists question (ExistsBy 'colour'): the objects of the asked
 * colour, and the shape a head reading them should write — the asked shape when one of them
 * has it, else the first one's, else "no" (no object of that colour: the head reads `<s>`).
 */
export function existsByColour(clip: Clip, q: Question): { objects: number[]; shape: string } {
  const [colour, shape] = askedAttributes(q);
  if (q.family !== 'object-exists' || !(COLOURS as readonly string[]).includes(colour ?? '') || !(SHAPES as readonly string[]).includes(shape ?? '')) {
    throw new Error(`organism:train: "${q.text}" is not an object-exists question of the form "was there a <colour> <shape>"`);
  }
  const objects = clip.scene.objects.flatMap((o, i) => (o.colour === colour ? [i] : []));
  const shapes = objects.map((i) => clip.scene.objects[i]!.shape as string);
  return { objects, shape: shapes.includes(shape!) ? shape! : (shapes[0] ?? 'no') };
}

/** hops[i]: question i's colour hop when it is read by colour (ExistsBy), else undefined. */
function answerAttention(clip: Clip, questions: readonly Question[], encoded: EncodedPrompt, answers: ReadonlyArray<[number, number, boolean?]>, absent: AbsentEvidence, uniformCount: boolean, hops: ReadonlyArray<{ objects: number[] } | undefined>): AttentionTarget[] {
  const { video, audio } = encoded.media;
  return questions.flatMap((q, i) => {
    const row = answers[i]![0];
    const hop = hops[i];
    if (hop) {
      const evidence = hop.objects.length > 0 ? hop.objects.flatMap((o) => objectPatches(clip.scene, o, clip.preset).map((t) => video.pos[t]!)) : [0];
      return [{ kind: 'answer' as const, row, evidence, family: q.family }];
    }
    const e = evidenceTokens(clip.scene, q.evidence, clip.preset);
    const exists = absent !== 'none' && q.family === 'object-exists';
    const none = exists && e.video.length === 0;
    const sink = e.withSink || (exists && (absent === 'count' || (none && absent === 'sink')));
    const extra = sink ? [0] : none && absent === 'self' ? [row] : [];
    const evidence = [...e.video.map((t) => video.pos[t]!), ...e.audio.map((t) => audio.pos[t]!), ...extra];
    const uniform = (e.withSink && uniformCount) || (exists && absent === 'count');
    return evidence.length > 0 ? [{ kind: 'answer' as const, row, evidence, uniform, family: q.family }] : [];
  });
}

/** Attribute words a question can name. */
const ATTRIBUTE_WORDS = new Set<string>([...SHAPES, ...COLOURS, ...SOUNDS]);
/** The attribute words a question names, in its word order. */
const askedAttributes = (q: Question): string[] => q.text.split(' ').filter((w) => ATTRIBUTE_WORDS.has(w));
/** Attribute words a question names, and the one word of each template that tells its family. */
const CONTENT_WORDS = new Set<string>([...ATTRIBUTE_WORDS, 'visible', 'first', 'many', 'moved', 'made', 'there']);

function questionAttention(encoded: EncodedPrompt, answers: ReadonlyArray<[number, number, boolean?]>, vocab: Vocabulary, uniform: boolean): AttentionTarget[] {
  const start = vocab.ids.get('question')!;
  return answers.flatMap(([row]) => {
    const evidence: number[] = [];
    for (let p = row - 1; p >= 0 && encoded.ids[p] !== start; p--) {
      if (CONTENT_WORDS.has(vocab.words[encoded.ids[p]!] ?? '')) evidence.push(p);
    }
    return evidence.length > 0 ? [{ kind: 'question' as const, row, evidence, uniform }] : [];
  });
}

function bindAttention(clip: Clip, encoded: EncodedPrompt): AttentionTarget[] {
  const { scene, preset } = clip;
  const perFrame = audioTokensPerFrame(preset);
  const { video, audio } = encoded.media;
  return scene.events.flatMap((e, i) => {
    const src = eventSource(scene, i, preset.gridCols);
    const patches = objectPatches(scene, src, preset);
    const start = scene.objects[src]!.start;
    return Array.from({ length: e.duration }, (_, j) => {
      const t = e.onset + j;
      return { kind: 'bind' as const, row: audio.pos[t]!, evidence: [video.pos[patches[Math.floor(t / perFrame) - start]!]!] };
    });
  });
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
