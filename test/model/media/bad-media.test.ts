import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFfmpeg } from '../../../src/model/media/ffmpeg.js';
import { MediaError } from '../../../src/model/media/media-error.js';
import { parsePreprocessorConfig } from '../../../src/model/media/preprocessor-config.js';
import { readAudio } from '../../../src/model/media/read-audio.js';
import { readImage, readVideo } from '../../../src/model/media/read-video.js';
import { makeMedia, mediaDir, sine, testPattern } from './make-media.js';

let dir: string;
let silentVideo: string;
const settings = parsePreprocessorConfig({ feature_extractor_type: 'WhisperFeatureExtractor', feature_size: 128 }, 'preprocessor_config.json');

beforeAll(() => {
  dir = mediaDir();
  silentVideo = makeMedia(dir, 'silent.mp4', [...testPattern(64, 48, 10, 1), '-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
  const full = readFileSync(makeMedia(dir, 'full.mp4', [...testPattern(64, 48, 10, 2), ...sine(440, 16000, 2), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac']));
  writeFileSync(join(dir, 'truncated.mp4'), full.subarray(0, Math.floor(full.length / 2))); // index ('moov') is at the end
  const faststart = readFileSync(makeMedia(dir, 'faststart.mp4', [...testPattern(64, 48, 10, 2), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-movflags', '+faststart']));
  writeFileSync(join(dir, 'truncated-faststart.mp4'), faststart.subarray(0, Math.floor(faststart.length / 2)));
  writeFileSync(join(dir, 'notes.txt'), 'these are notes, not a video\n'.repeat(20));
  copyFileSync(join(dir, 'notes.txt'), join(dir, 'notes.mp4'));
  writeFileSync(join(dir, 'empty.mp4'), '');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Expects a MediaError naming `file` whose message matches `pattern`. */
async function expectMediaError(promise: Promise<unknown>, file: string, pattern: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MediaError);
  expect((error as MediaError).file).toBe(file);
  expect((error as Error).message.startsWith(`${file}: `)).toBe(true);
  expect((error as Error).message).toMatch(pattern);
}

describe('bad media give clear errors naming the file', () => {
  it('missing file', async () => {
    const f = join(dir, 'nope.mp4');
    await expectMediaError(readVideo(f, settings.video), f, /file not found/);
  });

  it('empty file', async () => {
    const f = join(dir, 'empty.mp4');
    await expectMediaError(readVideo(f, settings.video), f, /empty \(0 bytes\)/);
  });

  it('truncated mp4 (index at the end, cut off)', async () => {
    const f = join(dir, 'truncated.mp4');
    await expectMediaError(readVideo(f, settings.video), f, /truncated or incomplete MP4.*moov/);
  });

  it('truncated mp4 (index first, data cut off)', async () => {
    const f = join(dir, 'truncated-faststart.mp4');
    await expectMediaError(readVideo(f, settings.video), f, /truncated/);
  });

  it('a text file renamed .mp4', async () => {
    const f = join(dir, 'notes.mp4');
    await expectMediaError(readVideo(f, settings.video), f, /not a media file ffmpeg recognises/);
    const t = join(dir, 'notes.txt');
    await expectMediaError(readImage(t, settings.image), t, /is a text file, not a media file/);
  });

  it('a video without the audio track asked for', async () => {
    await expectMediaError(readAudio(silentVideo, settings.audio!), silentVideo, /no audio stream \(a video without an audio track\)/);
  });

  it('an audio file read as a video', async () => {
    const f = makeMedia(dir, 'tone.wav', sine(440, 16000, 1));
    await expectMediaError(readVideo(f, settings.video), f, /has no video stream/);
  });

  it('a directory', async () => {
    await expectMediaError(readVideo(dir, settings.video), dir, /not a regular file/);
  });

  it('an ffmpeg run that does not end is killed at its timeout', async () => {
    const started = Date.now();
    await expectMediaError(runFfmpeg(['-f', 'lavfi', '-i', 'sine', '-f', 'null', '-'], { file: 'endless-sine', timeoutMs: 500 }), 'endless-sine', /did not finish within 0.5 s/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
