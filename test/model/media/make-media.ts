/** Test media made on the spot with the same ffmpeg binary the readers use (lavfi sources). */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ffmpegPath } from '../../../src/model/media/ffmpeg.js';

export function mediaDir(): string {
  return mkdtempSync(join(tmpdir(), 'kvprism-media-'));
}

/** Runs `ffmpeg -y ARGS dir/name` and returns the output path. */
export function makeMedia(dir: string, name: string, args: string[]): string {
  const out = join(dir, name);
  const run = spawnSync(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', ...args, out], { encoding: 'utf8', timeout: 60_000 });
  if (run.status !== 0) throw new Error(`ffmpeg could not make ${name}: ${run.stderr}`);
  return out;
}

/** lavfi test pattern: `seconds` of `width`x`height` at `fps`. */
export function testPattern(width: number, height: number, fps: number, seconds: number): string[] {
  return ['-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=${fps}:duration=${seconds}`];
}

/** lavfi sine of `hz` at `rate` for `seconds` (amplitude 1/8). */
export function sine(hz: number, rate: number, seconds: number): string[] {
  return ['-f', 'lavfi', '-i', `sine=frequency=${hz}:sample_rate=${rate}:duration=${seconds}`];
}

/** A video whose frame n (< 1024) is solid RGB (8·(n mod 32), 8·floor(n / 32), 200): a decoded frame tells its index. */
export function numberedFrames(width: number, height: number, fps: number, frames: number): string[] {
  return ['-f', 'lavfi', '-i', `color=c=black:size=${width}x${height}:rate=${fps}`, '-vf', "geq=r='8*mod(N,32)':g='8*floor(N/32)':b='200'", '-frames:v', String(frames)];
}

/** The index a frame of numberedFrames shows, from its first pixel ([r, g, b] u8). */
export function frameNumber(rgb: Uint8Array): number {
  return Math.round(rgb[1]! / 8) * 32 + Math.round(rgb[0]! / 8);
}
