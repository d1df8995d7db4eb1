/**
 * AV-world QA samples in the project's prompt format: the clip as time-interleaved feature
 * spans (per frame: its video patches, then the audio tokens of the same period), then the
 * question as text ending in "answer"; the answer is one word from a closed choice set.
 */
import type { FeatureSegment, PromptSegment, QASample } from '../../model/prompt.js';
import { clipForFamily, type Clip, type Split } from './clip.js';
import { presetByName, audioTokensPerFrame, patchesPerFrame, type AvPreset } from './presets.js';
import { FAMILIES, type Family } from './vocab.js';
import type { Question } from './questions.js';
import { evidenceTokens } from './evidence.js';

export interface AvWorldOptions {
  preset?: 'tiny' | 'default' | 'long' | AvPreset;
  split: Split;
  count: number;
  seed?: number;
  /** Families to cycle through (default: all six, in order). */
  families?: readonly Family[];
}

/** Cache segment ids: the clip's video stream and audio stream. */
export const VIDEO_SEGMENT = 0;
export const AUDIO_SEGMENT = 1;

/** The clip's media as prompt segments: 2 spans per frame (video, then audio). */
export function clipSegments(clip: Clip): FeatureSegment[] {
  const p = clip.preset;
  const P = patchesPerFrame(p);
  const A = audioTokensPerFrame(p);
  const tokenSec = (p.hop * p.melPerToken) / p.sampleRate;
  const segs: FeatureSegment[] = [];
  for (let f = 0; f < p.frames; f++) {
    const row = new Int16Array(P);
    const col = new Int16Array(P);
    for (let i = 0; i < P; i++) {
      row[i] = Math.floor(i / p.gridCols);
      col[i] = i % p.gridCols;
    }
    segs.push({
      kind: 'features', modality: 'video', n: P, segment: VIDEO_SEGMENT, featureDim: clip.videoDim,
      data: clip.video.subarray(f * P * clip.videoDim, (f + 1) * P * clip.videoDim),
      time: new Float32Array(P).fill(f / p.fps), row, col,
    });
    segs.push({
      kind: 'features', modality: 'audio', n: A, segment: AUDIO_SEGMENT, featureDim: clip.audioDim,
      data: clip.audio.subarray(f * A * clip.audioDim, (f + 1) * A * clip.audioDim),
      time: Float32Array.from({ length: A }, (_, j) => (f * A + j) * tokenSec),
    });
  }
  return segs;
}

export function questionSample(id: string, clip: Clip, q: Question): QASample {
  const segments: PromptSegment[] = [...clipSegments(clip), { kind: 'text', text: q.text }];
  return { id, family: q.family, prompt: { segments, addBos: true }, choices: q.choices, answer: q.answer, evidence: evidencePositions(clip, q) };
}

/** Prompt positions of a question's evidence tokens (after `<s>`, frame by frame: patches, then audio). */
export function evidencePositions(clip: Clip, q: Question): number[] {
  const p = clip.preset;
  const P = patchesPerFrame(p);
  const A = audioTokensPerFrame(p);
  const e = evidenceTokens(clip.scene, q.evidence, p);
  const video = e.video.map((t) => 1 + Math.floor(t / P) * (P + A) + (t % P));
  const audio = e.audio.map((t) => 1 + Math.floor(t / A) * (P + A) + P + (t % A));
  return [...video, ...audio].sort((a, b) => a - b);
}

/**
 * The part of a sample id that names a family subset ('' for all six, so ids of full runs are
 * unchanged): sample i of a subset is another question than sample i of all six, and runs are
 * joined on ids (kvprism compare), so the two must never share one.
 */
export function familiesTag(families: readonly Family[]): string {
  const all = families.length === FAMILIES.length && FAMILIES.every((f, i) => families[i] === f);
  return all ? '' : `/only-${families.join('+')}`;
}

/**
 * `count` samples of a split, cycling through the families; sample i is fixed by
 * (preset, split, seed, i), so any prefix of a longer request is the same.
 */
export function avWorldSamples(opts: AvWorldOptions): QASample[] {
  const preset = typeof opts.preset === 'object' ? opts.preset : presetByName(opts.preset ?? 'default');
  const families = opts.families ?? FAMILIES;
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(opts.count) || opts.count < 0) throw new RangeError(`avWorldSamples: count must be a non-negative integer; got ${opts.count}`);
  if (families.length === 0) throw new RangeError('avWorldSamples: families must not be empty');
  const tag = familiesTag(families);
  const out: QASample[] = [];
  for (let i = 0; i < opts.count; i++) {
    const family = families[i % families.length]!;
    const { clip, question } = clipForFamily(preset, opts.split, seed, i, family);
    out.push(questionSample(`av-world/${preset.name}/${opts.split}/${seed}${tag}/${i}`, clip, question));
  }
  return out;
}
