import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePreprocessorConfig } from '../../../src/model/media/preprocessor-config.js';
import { audioFeatures, readAudio, readPcm } from '../../../src/model/media/read-audio.js';
import { makeMedia, mediaDir, sine, testPattern } from './make-media.js';
import { compare, hfWhisperFeatures } from './transformers-js.js';

let dir: string;
const files: Record<string, string> = {};

beforeAll(() => {
  dir = mediaDir();
  files.wav = makeMedia(dir, 'tone.wav', [...sine(440, 44100, 2), '-c:a', 'pcm_s16le']);
  files.flac = makeMedia(dir, 'tone.flac', [...sine(440, 48000, 2)]);
  files.mp3 = makeMedia(dir, 'tone.mp3', [...sine(440, 22050, 2)]);
  files.mp4 = makeMedia(dir, 'clip.mp4', [...testPattern(64, 48, 10, 2), ...sine(440, 44100, 2), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest']);
  // Stereo: left a 440 Hz sine, right silent.
  files.stereo = makeMedia(dir, 'stereo.wav', [...sine(440, 16000, 2), '-af', 'pan=stereo|c0=c0|c1=0*c0']);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const omni = parsePreprocessorConfig({ feature_extractor_type: 'WhisperFeatureExtractor', feature_size: 128, sampling_rate: 16000, hop_length: 160, n_fft: 400, chunk_length: 300 }, 'preprocessor_config.json').audio!;
/** Whisper's own 30 s chunk: what the transformers.js comparison pads to (300 s would take minutes there). */
const whisper30 = { ...omni, maxSamples: 30 * 16000 };

/** Power of `pcm` at `hz` (Goertzel). */
function powerAt(pcm: Float32Array, hz: number, rate: number): number {
  const w = (2 * Math.PI * hz) / rate;
  let s1 = 0;
  let s2 = 0;
  for (const x of pcm) {
    const s0 = x + 2 * Math.cos(w) * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - 2 * Math.cos(w) * s1 * s2;
}

describe('readPcm: any audio ffmpeg reads → mono f32 at 16 kHz', () => {
  it.each(['wav', 'flac', 'mp3', 'mp4'])('%s: 2 s of a 440 Hz sine', async (kind) => {
    const pcm = await readPcm(files[kind]!, 16000);
    // wav / flac are exact; mp3 and AAC may add or drop a few ms of codec padding.
    if (kind === 'wav' || kind === 'flac') expect(pcm.length).toBe(32000);
    else expect(Math.abs(pcm.length - 32000)).toBeLessThan(16000 * 0.05);
    const mid = pcm.subarray(4000, 28000);
    const peak = powerAt(mid, 440, 16000);
    for (const other of [220, 330, 550, 880, 1000]) expect(peak).toBeGreaterThan(100 * powerAt(mid, other, 16000));
    let max = 0;
    for (const v of mid) max = Math.max(max, Math.abs(v));
    expect(max).toBeGreaterThan(0.11); // lavfi's sine has amplitude 1/8
    expect(max).toBeLessThan(0.14);
  });

  it('averages channels as librosa.to_mono (stereo sine + silence → half amplitude)', async () => {
    const pcm = await readPcm(files.stereo!, 16000);
    let max = 0;
    for (const v of pcm) max = Math.max(max, Math.abs(v));
    expect(max).toBeCloseTo(0.125 / 2, 2);
  });
});

describe('Whisper log-mel features', () => {
  it('match transformers.js WhisperFeatureExtractor within 1e-5 on the same PCM (128 mels, 30 s padding)', async () => {
    const pcm = await readPcm(files.mp4!, 16000);
    const ours = audioFeatures(pcm, whisper30, true);
    expect(ours.frames).toBe(3000);
    const hf = await hfWhisperFeatures(pcm, whisper30);
    // Measured: max 1.2e-7 (one float32 ulp).
    expect(compare(ours.features, hf).max).toBeLessThan(1e-5);
  });

  it("follow Qwen2.5-Omni's lengths: padded to chunk_length (300 s = 30 000 frames), valid = ceil(samples / 160)", async () => {
    const a = await readAudio(files.wav!, omni);
    expect(a.validFrames).toBe(200);
    expect(a.frames).toBe(200);
    expect(a.numMel).toBe(128);
    expect(a.features.length).toBe(128 * 200);
    expect(a.seconds).toBe(2);
    expect(a.sampleRate).toBe(16000);
    const padded = await readAudio(files.wav!, omni, { padToMaxLength: true });
    expect(padded.frames).toBe(30000);
    expect(padded.validFrames).toBe(200);
    // The valid frames are the same numbers either way (computed on the padded waveform).
    for (let m = 0; m < 128; m += 17) {
      expect(Array.from(padded.features.subarray(m * 30000, m * 30000 + 200))).toEqual(Array.from(a.features.subarray(m * 200, m * 200 + 200)));
    }
  });

  it('truncate audio longer than chunk_length, as HF truncation=True does', () => {
    const short = { ...omni, maxSamples: 16000 };
    const pcm = new Float32Array(48000).map((_, i) => Math.sin(i / 7));
    const a = audioFeatures(pcm, short);
    expect(a.seconds).toBe(1);
    expect(a.validFrames).toBe(100);
    expect(a.frames).toBe(100);
  });

  it('give silence the floor value: log10(1e-10) = −10 → (−10 + 4) / 4 = −1.5', () => {
    const a = audioFeatures(new Float32Array(1600), whisper30);
    expect(a.validFrames).toBe(10);
    for (const v of a.features) expect(v).toBeCloseTo(-1.5, 6);
  });
});
