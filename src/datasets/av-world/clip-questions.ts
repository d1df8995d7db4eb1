/**
 * AV-world samples with several questions per clip, for the multi-turn protocol: clip i poses
 * up to `perClip` questions of distinct families (the ones its scene can pose, in family
 * order), each a sample with the same media and its own question. `count` is the number of
 * samples; the last clip may pose fewer than `perClip`. Fixed by (preset, split, seed).
 */
import type { QASample } from '../../model/prompt.js';
import { clipWithQuestions, type Split } from './clip.js';
import { presetByName, type AvPreset } from './presets.js';
import { familiesTag, questionSample } from './samples.js';
import { FAMILIES, type Family } from './vocab.js';

export interface ClipQuestionsOptions {
  preset?: string | AvPreset;
  split: Split;
  count: number;
  seed?: number;
  /** Questions asked of each clip (≥ 1). */
  perClip: number;
  /** Pose only these families (default: all six). */
  families?: readonly Family[];
}

export function avWorldClipQuestions(opts: ClipQuestionsOptions): QASample[] {
  const preset = typeof opts.preset === 'object' ? opts.preset : presetByName(opts.preset ?? 'default');
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(opts.perClip) || opts.perClip < 1) throw new RangeError(`avWorldClipQuestions: perClip must be an integer ≥ 1; got ${opts.perClip}`);
  if (!Number.isInteger(opts.count) || opts.count < 0) throw new RangeError(`avWorldClipQuestions: count must be a non-negative integer; got ${opts.count}`);
  const families = opts.families ?? FAMILIES;
  if (families.length === 0) throw new RangeError('avWorldClipQuestions: families must not be empty');
  const tag = familiesTag(families);
  const out: QASample[] = [];
  for (let clipIndex = 0; out.length < opts.count; clipIndex++) {
    if (clipIndex > 1000 + opts.count) throw new Error(`av-world: no ${opts.count} questions from ${clipIndex} clips of preset ${preset.name}`);
    const { clip, questions } = clipWithQuestions(preset, opts.split, seed, clipIndex);
    const posed = questions.filter((q) => families.includes(q.family));
    for (const [q, question] of posed.slice(0, opts.perClip).entries()) {
      if (out.length === opts.count) break;
      out.push(questionSample(`av-world/${preset.name}/${opts.split}/${seed}${tag}/c${clipIndex}q${q}`, clip, question));
    }
  }
  return out;
}
