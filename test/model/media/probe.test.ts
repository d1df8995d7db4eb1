import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countVideoFrames, parseProbe, probeMedia } from '../../../src/model/media/probe.js';
import { makeMedia, mediaDir, sine, testPattern } from './make-media.js';

let dir: string;
beforeAll(() => {
  dir = mediaDir();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('probeMedia on files made here', () => {
  it('mp4 with H.264 and AAC: size, fps, duration, both streams; exact frame count', async () => {
    const f = makeMedia(dir, 'a.mp4', [...testPattern(320, 240, 30, 2), ...sine(440, 44100, 2), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest']);
    const info = await probeMedia(f);
    expect(info.container).toContain('mp4');
    expect(info.video).toEqual([{ codec: 'h264', width: 320, height: 240, fps: 30 }]);
    expect(info.audio).toHaveLength(1);
    expect(info.audio[0]).toMatchObject({ codec: 'aac', sampleRate: 44100, channels: 1 });
    expect(info.durationSeconds).toBeGreaterThan(1.9);
    expect(info.durationSeconds).toBeLessThan(2.2);
    expect(await countVideoFrames(f)).toBe(60);
  });

  it('mkv with VP9 at 25 fps and no audio', async () => {
    const f = makeMedia(dir, 'b.mkv', [...testPattern(96, 64, 25, 1), '-c:v', 'libvpx-vp9', '-b:v', '100k']);
    const info = await probeMedia(f);
    expect(info.container).toContain('matroska');
    expect(info.video[0]).toMatchObject({ codec: 'vp9', width: 96, height: 64, fps: 25 });
    expect(info.audio).toEqual([]);
    expect(await countVideoFrames(f)).toBe(25);
  });

  it('flac stereo: audio only', async () => {
    const f = makeMedia(dir, 'c.flac', [...sine(300, 48000, 1), '-ac', '2']);
    const info = await probeMedia(f);
    expect(info.video).toEqual([]);
    expect(info.audio[0]).toMatchObject({ codec: 'flac', sampleRate: 48000, channels: 2 });
  });

  it('png: a still image has no frame rate', async () => {
    const f = makeMedia(dir, 'd.png', [...testPattern(64, 48, 1, 1), '-frames:v', '1']);
    const info = await probeMedia(f);
    expect(info.video[0]).toMatchObject({ codec: 'png', width: 64, height: 48, fps: null });
    expect(info.durationSeconds).toBeNull();
  });
});

describe('parseProbe on ffmpeg summaries', () => {
  const summary = (streams: string) => `Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'x.mp4':\n  Duration: 00:01:02.50, start: 0.040000, bitrate: 1 kb/s\n${streams}\nAt least one output file must be specified\n`;

  it('snaps NTSC rates printed with two decimals to n·1000/1001 and reads the start time', () => {
    const info = parseProbe('x.mp4', summary('    Stream #0:0(und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709), 1920x1080 [SAR 1:1 DAR 16:9], 29.97 fps, 29.97 tbr, 30k tbn (default)'));
    expect(info.video[0]).toEqual({ codec: 'h264', width: 1920, height: 1080, fps: 30000 / 1001 });
    expect(info.durationSeconds).toBeCloseTo(62.5, 9);
    expect(info.startSeconds).toBeCloseTo(0.04, 9);
  });

  it('falls back to tbr when fps is absent, and skips cover art', () => {
    const info = parseProbe(
      'x.mp4',
      summary(
        '    Stream #0:0: Video: vp8, yuv420p, 640x360, SAR 1:1 DAR 16:9, 24 tbr, 1k tbn\n    Stream #0:1: Video: mjpeg (Baseline), yuvj420p(pc), 500x500, 90k tbr (attached pic)\n    Stream #0:2[0x101](eng): Audio: opus, 48000 Hz, 5.1(side), fltp',
      ),
    );
    expect(info.video).toEqual([{ codec: 'vp8', width: 640, height: 360, fps: 24 }]);
    expect(info.audio).toEqual([{ codec: 'opus', sampleRate: 48000, channels: 6 }]);
  });
});
