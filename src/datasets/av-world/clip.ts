/**
 * One rendered clip: scene → pixels and PCM → front-end features, ready to become prompt
 * spans. Seeds: a clip is fixed by (split, seed, index); the split offsets the seed space
 * so train / validation / test never share a clip.
 */
import { Rng } from './rng.js';
import { sampleScene, type Scene } from './scene.js';
import { askQuestion, type Question } from './questions.js';
import { renderVideo } from './render-video.js';
import { renderAudio } from './render-audio.js';
import { videoFeatures, VIDEO_FEATURE_DIM } from './video-frontend.js';
import { audioFeatures, audioFeatureDim } from './audio-frontend.js';
import { audioTokensPerFrame, patchesPerFrame, type AvPreset } from './presets.js';
import { FAMILIES, type Family } from './vocab.js';

export const SPLITS = ['train', 'validation', 'test'] as const;
export type Split = (typeof SPLITS)[number];
const SPLIT_SALT: Record<Split, number> = { train: 0x1000_0000, validation: 0x2000_0000, test: 0x3000_0000 };

export interface Clip {
  preset: AvPreset;
  scene: Scene;
  /** [frames·patches][VIDEO_FEATURE_DIM] f32, frame-major then row-major. */
  video: Float32Array;
  /** [frames·audioTokensPerFrame][audioFeatureDim] f32, in time order. */
  audio: Float32Array;
  videoDim: number;
  audioDim: number;
}

/** Mixes split, seed and index into one 32-bit clip seed. */
export function clipSeed(split: Split, seed: number, index: number): number {
  if (!SPLITS.includes(split)) throw new RangeError(`av-world split "${String(split)}" is unknown; expected one of ${SPLITS.join(', ')}`);
  let h = (SPLIT_SALT[split] ^ Math.imul(seed | 0, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (index >>> 0), 0x85ebca6b) >>> 0;
  return (h ^ (h >>> 13)) >>> 0;
}

export function renderClip(scene: Scene, preset: AvPreset, rng: Rng): Clip {
  const video = videoFeatures(renderVideo(scene, preset, rng), preset);
  const audio = audioFeatures(renderAudio(scene, preset, rng), preset);
  const expectV = preset.frames * patchesPerFrame(preset);
  const expectA = preset.frames * audioTokensPerFrame(preset);
  const audioDim = audioFeatureDim(preset);
  if (video.length !== expectV * VIDEO_FEATURE_DIM || audio.length !== expectA * audioDim) {
    throw new Error(`av-world: rendered ${video.length / VIDEO_FEATURE_DIM} video / ${audio.length / audioDim} audio tokens; expected ${expectV} / ${expectA}`);
  }
  return { preset, scene, video, audio, videoDim: VIDEO_FEATURE_DIM, audioDim };
}

/**
 * A clip that can pose `family` (scenes are redrawn until it can), with its question.
 * Deterministic in (preset, split, seed, index, family).
 */
export function clipForFamily(preset: AvPreset, split: Split, seed: number, index: number, family: Family): { clip: Clip; question: Question } {
  const base = clipSeed(split, seed, index);
  for (let attempt = 0; attempt < 1000; attempt++) {
    const rng = new Rng(base, attempt);
    const scene = sampleScene(rng, preset);
    const question = askQuestion(family, scene, rng, preset.gridCols);
    if (question) return { clip: renderClip(scene, preset, rng), question };
  }
  throw new Error(`av-world: no scene of ${preset.frames} frames could pose "${family}" in 1000 attempts`);
}

/**
 * A clip with up to `perFamily` distinct questions of every family its scene can pose
 * (training packs them all after one pass over the media).
 */
export function clipWithQuestions(preset: AvPreset, split: Split, seed: number, index: number, perFamily = 1): { clip: Clip; questions: Question[] } {
  const rng = new Rng(clipSeed(split, seed, index), 0);
  const scene = sampleScene(rng, preset);
  const questions: Question[] = [];
  const seen = new Set<string>();
  for (const f of FAMILIES) {
    for (let i = 0; i < perFamily; i++) {
      const q = askQuestion(f, scene, rng, preset.gridCols);
      if (q && !seen.has(q.text)) {
        seen.add(q.text);
        questions.push(q);
      }
    }
  }
  return { clip: renderClip(scene, preset, rng), questions };
}
