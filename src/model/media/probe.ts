/**
 * What a media file holds: container, duration, video and audio streams. ffprobe is not
 * shipped with the npm ffmpeg, so this parses the stream summary `ffmpeg -i FILE` prints on
 * stderr (a format stable across ffmpeg 4–7), and counts video frames exactly by copying the
 * stream's packets to a null muxer (demux only, no decoding).
 */
import { statSync } from 'node:fs';
import { ffmpegErrorLines, runFfmpeg } from './ffmpeg.js';
import { MediaError } from './media-error.js';

export interface VideoStreamInfo {
  codec: string;
  width: number;
  height: number;
  /** Average frame rate (ffmpeg's "fps", else "tbr"); NTSC rates snapped to n*1000/1001. Null for a still image. */
  fps: number | null;
}

export interface AudioStreamInfo {
  codec: string;
  sampleRate: number;
  /** Channel count from the layout ffmpeg prints ("stereo", "5.1", "3 channels"); null if unrecognised. */
  channels: number | null;
}

export interface MediaInfo {
  file: string;
  /** ffmpeg's demuxer names, e.g. "mov,mp4,m4a,3gp,3g2,mj2" or "matroska,webm". */
  container: string;
  /** Seconds, or null when the container does not say (raw streams, single images). */
  durationSeconds: number | null;
  startSeconds: number;
  video: VideoStreamInfo[];
  audio: AudioStreamInfo[];
}

/** Probes `file`; a missing, empty, unreadable or truncated file is a MediaError naming it. */
export async function probeMedia(file: string, timeoutMs?: number): Promise<MediaInfo> {
  assertReadableFile(file);
  const run = await runFfmpeg(['-i', file], { file, timeoutMs });
  // Without an output ffmpeg always exits 1; the summary is there when the input opened.
  if (!/^Input #0/m.test(run.stderr)) throw openFailure(file, run.stderr);
  const info = parseProbe(file, run.stderr);
  // ffmpeg renders any text file as ANSI art through its "tty" demuxer: not a media file.
  if (info.container === 'tty') throw new MediaError(file, 'is a text file, not a media file; expected a video, image or audio file');
  return info;
}

/** The exact number of frames (packets) of the first video stream. */
export async function countVideoFrames(file: string, timeoutMs?: number): Promise<number> {
  const run = await runFfmpeg(['-i', file, '-map', '0:v:0', '-c', 'copy', '-f', 'null', '-'], { file, timeoutMs });
  if (/partial file/.test(run.stderr)) throw new MediaError(file, 'the file is truncated (ffmpeg: "partial file"); expected a complete video');
  const counts = [...run.stderr.matchAll(/frame=\s*(\d+)/g)];
  if (run.exitCode !== 0 || counts.length === 0) throw new MediaError(file, `cannot count video frames: ${ffmpegErrorLines(run.stderr)}`);
  return Number(counts[counts.length - 1]![1]);
}

/** Parses the summary ffmpeg prints for input #0. */
export function parseProbe(file: string, stderr: string): MediaInfo {
  const container = /^Input #0, (.*), from '/m.exec(stderr)?.[1] ?? 'unknown';
  const dur = /Duration: (\d+):(\d+):(\d+(?:\.\d+)?)/.exec(stderr);
  const durationSeconds = dur ? Number(dur[1]) * 3600 + Number(dur[2]) * 60 + Number(dur[3]) : null;
  const startSeconds = Number(/start: (-?\d+(?:\.\d+)?)/.exec(stderr)?.[1] ?? 0);
  const video: VideoStreamInfo[] = [];
  const audio: AudioStreamInfo[] = [];
  for (const m of stderr.matchAll(/^\s*Stream #0:\d+\S*: (Video|Audio): (.*)$/gm)) {
    const kind = m[1]!;
    const desc = m[2]!;
    const codec = /^(\w+)/.exec(desc)?.[1] ?? 'unknown';
    if (kind === 'Video') {
      if (desc.includes('(attached pic)')) continue; // cover art in audio files is not a video
      const size = /(?:^|[\s,])(\d+)x(\d+)(?=[\s,[]|$)/.exec(desc);
      if (!size) throw new MediaError(file, `cannot read the frame size of video stream "${desc}"`);
      video.push({ codec, width: Number(size[1]), height: Number(size[2]), fps: parseRate(desc, 'fps') ?? stillOrTbr(codec, desc) });
    } else {
      audio.push({ codec, sampleRate: Number(/(\d+) Hz/.exec(desc)?.[1] ?? 0), channels: channelCount(/ Hz, ([^,]+)/.exec(desc)?.[1] ?? '') });
    }
  }
  return { file, container, durationSeconds, startSeconds, video, audio };
}

const NAMED_LAYOUTS: Record<string, number> = { mono: 1, stereo: 2, downmix: 2, quad: 4, hexagonal: 6, octagonal: 8, hexadecagonal: 16 };

/** "stereo" → 2, "5.1(side)" → 6, "3 channels" → 3. */
function channelCount(layout: string): number | null {
  const name = layout.trim();
  const counted = /^(\d+) channels/.exec(name);
  if (counted) return Number(counted[1]);
  const surround = /^(\d+)\.(\d+)/.exec(name);
  if (surround) return Number(surround[1]) + Number(surround[2]);
  return NAMED_LAYOUTS[name.replace(/\(.*\)$/, '')] ?? null;
}

const STILL_IMAGE_CODECS = new Set(['png', 'mjpeg', 'bmp', 'webp', 'tiff', 'gif', 'jpeg2000', 'ppm', 'pgm', 'pam']);

/** Image demuxers print only a nominal "25 tbr": an image has no frame rate. */
function stillOrTbr(codec: string, desc: string): number | null {
  return STILL_IMAGE_CODECS.has(codec) ? null : parseRate(desc, 'tbr');
}

/** "29.97 fps" → 30000/1001 (ffmpeg prints two decimals); "1k tbr" → 1000. */
function parseRate(desc: string, unit: 'fps' | 'tbr'): number | null {
  const m = new RegExp(`(\\d+(?:\\.\\d+)?)(k?) ${unit}`).exec(desc);
  if (!m) return null;
  const rate = Number(m[1]) * (m[2] ? 1000 : 1);
  const ntsc = Math.round(rate * 1.001);
  return !Number.isInteger(rate) && Math.abs((ntsc * 1000) / 1001 - rate) < 0.006 ? (ntsc * 1000) / 1001 : rate;
}

/** Missing, not a file, or empty: said before ffmpeg is asked. */
export function assertReadableFile(file: string): void {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new MediaError(file, 'is not a regular file; expected a video, image or audio file');
    size = st.size;
  } catch (e) {
    if (e instanceof MediaError) throw e;
    throw new MediaError(file, 'file not found');
  }
  if (size === 0) throw new MediaError(file, 'the file is empty (0 bytes); expected a video, image or audio file');
}

/** Explains why ffmpeg could not open a file. */
function openFailure(file: string, stderr: string): MediaError {
  const unknown = () => new MediaError(file, `not a media file ffmpeg recognises (unknown container or corrupt data): ${ffmpegErrorLines(stderr)}`);
  if (/detected only with low score/.test(stderr)) return unknown();
  if (/moov atom not found/.test(stderr)) return new MediaError(file, "truncated or incomplete MP4/MOV: its index ('moov' atom) is missing");
  if (/Invalid data found when processing input/.test(stderr)) return unknown();
  return new MediaError(file, `ffmpeg cannot open it: ${ffmpegErrorLines(stderr)}`);
}
