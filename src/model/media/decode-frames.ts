/**
 * Decodes chosen frames of a file's first video stream to 8-bit RGB through a pipe (ffmpeg
 * `rawvideo rgb24`), handing each frame over as soon as it is complete so that only one source
 * frame is held at a time. Frames are chosen by index in decode order (`select=eq(n,i)`), the
 * way decord / torchvision index a decoded video; their timestamps come from `showinfo`.
 * Colour conversion is ffmpeg's default swscale (the same libswscale path PyAV / decord use).
 */
import { ffmpegErrorLines, runFfmpeg } from './ffmpeg.js';
import { MediaError } from './media-error.js';

export interface DecodeRequest {
  file: string;
  width: number;
  height: number;
  /** Ascending, distinct frame indices to keep; undefined = only the first frame. */
  indices?: Int32Array;
  timeoutMs?: number;
  /** libswscale flags for the conversion to RGB (default: ffmpeg's, as decord / PyAV). */
  swsFlags?: string;
}

/** Calls `onFrame(rgb, k)` for the k-th kept frame (rgb: [height][width][3] u8, reused after return); resolves to their timestamps in seconds. */
export async function decodeFrames(req: DecodeRequest, onFrame: (rgb: Uint8Array, k: number) => void): Promise<Float64Array> {
  const { file, width, height, indices } = req;
  const frameBytes = width * height * 3;
  const wanted = indices ?? Int32Array.of(0);
  const expected = wanted.length;
  // showinfo sits after select so that it logs only the kept frames (a bare showinfo also logs
  // the frame ffmpeg decodes ahead of -frames:v's stop: the first frame of a video gave two).
  const select = ['-vf', `select='${Array.from(wanted, (i) => `eq(n,${i})`).join('+')}',showinfo`, '-vsync', '0', ...(indices ? [] : ['-frames:v', '1'])];
  const frame = new Uint8Array(frameBytes);
  let filled = 0;
  let kept = 0;
  const sws = req.swsFlags ? ['-sws_flags', req.swsFlags] : [];
  const run = await runFfmpeg(['-i', file, '-map', '0:v:0', ...select, ...sws, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], {
    file,
    timeoutMs: req.timeoutMs,
    onStdout: (chunk) => {
      let at = 0;
      while (at < chunk.length) {
        const take = Math.min(frameBytes - filled, chunk.length - at);
        frame.set(chunk.subarray(at, at + take), filled);
        filled += take;
        at += take;
        if (filled === frameBytes) {
          if (kept >= expected) throw new MediaError(file, `ffmpeg produced more than the ${expected} frames asked for`);
          onFrame(frame, kept++);
          filled = 0;
        }
      }
    },
  });
  if (run.exitCode !== 0) throw new MediaError(file, `decoding failed: ${ffmpegErrorLines(run.stderr)}`);
  if (/partial file/.test(run.stderr)) throw new MediaError(file, 'the file is truncated (ffmpeg: "partial file"); expected a complete video');
  if (kept !== expected || filled !== 0) {
    throw new MediaError(file, `decoded ${kept} of the ${expected} sampled frames (a truncated or corrupt video stream?) ${ffmpegErrorLines(run.stderr)}`.trim());
  }
  const times = [...run.stderr.matchAll(/\[Parsed_showinfo[^\]]*\] n:\s*\d+ pts:\s*-?\d+ pts_time:\s*(-?[\d.e+-]+)/g)].map((m) => Number(m[1]));
  if (times.length !== expected) throw new MediaError(file, `found ${times.length} frame timestamps for ${expected} decoded frames`);
  return Float64Array.from(times);
}
