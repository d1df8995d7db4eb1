/**
 * Media files → the inputs buildChatPrompt takes: each file is read as the model folder's
 * preprocessor_config.json says (src/model/media) and encoded by the model's own towers on
 * its backend (src/model/towers). A video may bring its own audio track (Omni's
 * use_audio_in_video): the track is read from the same file and rides on the video input.
 */
import { join } from 'node:path';
import { loadPreprocessorConfig, type MediaPreprocessing } from '../media/preprocessor-config.js';
import { readAudio } from '../media/read-audio.js';
import { readImage, readVideo, type VideoReadOptions } from '../media/read-video.js';
import type { AudioInput, VisualInput } from '../media/types.js';
import type { Model } from '../model.js';
import type { AudioMedia, ImageMedia, MediaInput, VideoMedia } from './media.js';

/** One medium to read: a file, and for a video whether its audio track goes in too. */
export type MediaRequest =
  | { kind: 'video'; file: string; audioFromVideo?: boolean }
  | { kind: 'image'; file: string }
  | { kind: 'audio'; file: string };

export interface EncodeMediaOptions {
  /** Overrides of the folder's video settings (fps, frame bounds, pixel bounds). */
  video?: VideoReadOptions;
  /** The folder's processor settings (read from model.dir when absent). */
  preprocessing?: MediaPreprocessing;
}

export interface EncodedMedia {
  /** In request order; ready for buildChatPrompt. */
  inputs: MediaInput[];
  /** Wall time spent reading and preprocessing files, and in each tower (ms). */
  readMs: number;
  visionMs: number;
  audioMs: number;
}

/**
 * Seconds one Omni audio token covers: hop / rate per mel frame, × 2 (stride-2 conv) × 2
 * (stride-2 average pool) = 40 ms at 16 kHz, hop 160.
 */
export function secondsPerAudioToken(hopLength: number, sampleRate: number): number {
  return (4 * hopLength) / sampleRate;
}

export async function encodeMedia(model: Model, requests: readonly MediaRequest[], opts: EncodeMediaOptions = {}): Promise<EncodedMedia> {
  const out: EncodedMedia = { inputs: [], readMs: 0, visionMs: 0, audioMs: 0 };
  if (requests.length === 0) return out;
  const where = join(model.dir, 'config.json');
  const pre = opts.preprocessing ?? loadPreprocessorConfig(model.dir);
  const timed = async <T>(key: 'readMs' | 'visionMs' | 'audioMs', f: () => T | Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      out[key] += performance.now() - t0;
    }
  };
  const vision = (kind: string, file: string) => {
    const tower = model.towers?.vision;
    if (!tower) throw new Error(`${file}: cannot read a ${kind}: ${where} declares no vision tower (vision_config)`);
    return tower;
  };
  const encodeAudio = async (file: string): Promise<AudioMedia> => {
    const tower = model.towers?.audio;
    if (!tower) throw new Error(`${file}: cannot read audio: ${where} declares no audio tower (audio_config; Qwen2.5-Omni has one)`);
    if (!pre.audio) throw new Error(`${file}: cannot read audio: ${join(model.dir, 'preprocessor_config.json')} has no audio feature extractor (feature_size)`);
    const settings = pre.audio;
    const a: AudioInput = await timed('readMs', () => readAudio(file, settings));
    const embeddings = await timed('audioMs', () => tower.encode(model.backend, a.features, a.frames, a.validFrames));
    const tokens = embeddings.length / model.config.hiddenSize;
    return { kind: 'audio', tokens, secondsPerToken: secondsPerAudioToken(settings.hopLength, settings.sampleRate), embeddings };
  };
  for (const r of requests) {
    if (r.kind === 'audio') {
      out.inputs.push(await encodeAudio(r.file));
    } else if (r.kind === 'image') {
      const tower = vision('image', r.file);
      const v: VisualInput = await timed('readMs', () => readImage(r.file, pre.image));
      const embeddings = await timed('visionMs', () => tower.encode(model.backend, v.pixelValues, [v.grid]));
      out.inputs.push({ kind: 'image', grid: v.grid, embeddings } satisfies ImageMedia);
    } else {
      const tower = vision('video', r.file);
      const v: VisualInput = await timed('readMs', () => readVideo(r.file, pre.video, opts.video));
      const embeddings = await timed('visionMs', () => tower.encode(model.backend, v.pixelValues, [v.grid]));
      // Temporal step k starts at sampled frame k·temporal_patch_size (an odd last step repeats the last frame).
      const tps = pre.video.patch.temporalPatchSize;
      const frameTimes = Array.from({ length: v.grid.t }, (_, k) => v.frameTimes[Math.min(k * tps, v.frameTimes.length - 1)]!);
      const video: VideoMedia = { kind: 'video', grid: v.grid, secondsPerGrid: v.secondsPerGrid, frameTimes, embeddings };
      if (r.audioFromVideo) video.audio = await encodeAudio(r.file);
      out.inputs.push(video);
    }
  }
  return out;
}
