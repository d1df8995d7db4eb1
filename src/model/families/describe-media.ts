/**
 * What `kvprism inspect` says about a multimodal folder's inputs: the family and its media
 * placeholders, where the chat template comes from, and the processor settings media files are
 * read with. Each part that cannot be read says why instead of failing the whole description.
 */
import { loadPreprocessorConfig } from '../media/preprocessor-config.js';
import { loadChatTemplate } from './chat-template.js';
import { loadFamily } from './family.js';

export interface MediaDescription {
  family: string;
  placeholders: string;
  template: string;
  video: string;
  image: string;
  audio: string;
}

/** Null for a folder whose config.json names no multimodal family. */
export function describeMedia(dir: string): MediaDescription | null {
  let family;
  try {
    family = loadFamily(dir);
  } catch {
    return null;
  }
  const t = family.tokens;
  const timing = family.positionsPerSecond === null ? 'temporal id = frame index' : `${family.positionsPerSecond} temporal ids per second`;
  const out: MediaDescription = {
    family: `${family.name} (merge ${family.mergeSize}×${family.mergeSize}, ${timing}${family.secondsPerChunk ? `, audio-in-video chunks of ${family.secondsPerChunk} s` : ''})`,
    placeholders: [`${t.visionStart}${t.video}${t.visionEnd}`, `${t.visionStart}${t.image}${t.visionEnd}`, ...(t.audio ? [`${t.audioStart}${t.audio}${t.audioEnd}`] : [])].join(', '),
    template: attempt(() => loadChatTemplate(dir).source),
    video: '',
    image: '',
    audio: '',
  };
  let pre;
  try {
    pre = loadPreprocessorConfig(dir);
  } catch (e) {
    out.video = out.image = out.audio = `unreadable: ${(e as Error).message}`;
    return out;
  }
  const v = pre.video;
  const px = (p: { minPixels: number; maxPixels: number }) => `${p.minPixels}–${p.maxPixels} px`;
  out.video = `${v.sampling.nframes ? `${v.sampling.nframes} frames` : `${v.sampling.fps} fps, ${v.sampling.minFrames}–${v.sampling.maxFrames} frames`} (${v.sampling.rule}), ${px(v)}, patch ${v.patch.patchSize}×${v.patch.patchSize}×${v.patch.temporalPatchSize}`;
  out.image = `${px(pre.image)}, patch ${pre.image.patch.patchSize}×${pre.image.patch.patchSize}`;
  const a = pre.audio;
  out.audio = a ? `${a.numMel} mel bins, ${a.sampleRate} Hz, hop ${a.hopLength}, n_fft ${a.nFft}` : 'none (no audio feature extractor)';
  return out;
}

function attempt(f: () => string): string {
  try {
    return f();
  } catch (e) {
    return `unreadable: ${(e as Error).message}`;
  }
}
