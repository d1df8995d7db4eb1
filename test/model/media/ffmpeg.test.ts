import { afterEach, describe, expect, it } from 'vitest';
import { ffmpegPath, runFfmpeg } from '../../../src/model/media/ffmpeg.js';

const saved = process.env.KVPRISM_FFMPEG;
afterEach(() => {
  if (saved === undefined) delete process.env.KVPRISM_FFMPEG;
  else process.env.KVPRISM_FFMPEG = saved;
});

describe('ffmpeg binary', () => {
  it('is found without configuration (the npm-shipped static build) and runs', async () => {
    delete process.env.KVPRISM_FFMPEG;
    const path = ffmpegPath();
    expect(path).toMatch(/ffmpeg$/);
    const run = await runFfmpeg(['-version'], { file: '(version)' });
    expect(run.exitCode).toBe(0);
    expect(run.stdout.toString()).toMatch(/^ffmpeg version/);
  });

  it('KVPRISM_FFMPEG overrides the location; a wrong path is a clear error', () => {
    process.env.KVPRISM_FFMPEG = '/nonexistent/ffmpeg';
    expect(() => ffmpegPath()).toThrow(/KVPRISM_FFMPEG: \/nonexistent\/ffmpeg does not exist; expected the path of an ffmpeg binary/);
  });

  it('bounds buffered output: a run past maxStdoutBytes is stopped with an error naming the file', async () => {
    delete process.env.KVPRISM_FFMPEG;
    await expect(runFfmpeg(['-f', 'lavfi', '-i', 'sine=duration=5', '-f', 'f32le', 'pipe:1'], { file: 'big.wav', maxStdoutBytes: 1000 })).rejects.toThrow(
      /^big.wav: decoded output exceeds 1000 bytes/,
    );
  });
});
