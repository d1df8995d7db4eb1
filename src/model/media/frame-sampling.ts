/**
 * Which frames of a video the Qwen2-VL family sees. Two published rules, both kept exact:
 *
 * - `qwen-vl-utils` (default; what the Qwen2-VL / Qwen2.5-VL model cards and qwen-omni-utils
 *   use, `smart_nframes` + `fetch_video`): n = total / videoFps * fps, clamped to
 *   [ceil2(minFrames), floor2(min(maxFrames, total))] and to total, then floored to a multiple
 *   of temporal_patch_size (2); indices = round(linspace(0, total - 1, n)) (float32, halves to
 *   even, as torch). The sampled fps is n / total * videoFps.
 * - `transformers` (Qwen2VLVideoProcessor.sample_frames with do_sample_frames): maxFrames is
 *   first floored to a multiple of 2 after min(maxFrames, total); n = floor2(min(max(total /
 *   videoFps * fps, minFrames), maxFrames, total)); indices = int(arange(0, total, total / n)).
 *   The fps reported for positions is the requested fps (the processor's second_per_grid_ts).
 *
 * A fixed `nframes` (either rule) is rounded to a multiple of 2 (Python rounding).
 */
import { ceilByFactor, floorByFactor, linspaceF32, roundByFactor, roundHalfEven } from './python-math.js';

export type SamplingRule = 'qwen-vl-utils' | 'transformers';

export interface FrameSampling {
  rule: SamplingRule;
  /** Frames per second to sample (default 2.0). */
  fps: number;
  minFrames: number;
  maxFrames: number;
  /** A fixed number of frames instead of fps-based sampling. */
  nframes?: number;
}

export const DEFAULT_FRAME_SAMPLING: FrameSampling = { rule: 'qwen-vl-utils', fps: 2.0, minFrames: 4, maxFrames: 768 };

export interface SampledFrames {
  /** [n] indices into the source's frames, ascending. */
  indices: Int32Array;
  /** Frames per second the sampled sequence stands for (drives seconds per temporal grid step). */
  sampledFps: number;
}

/**
 * Frames to decode from a video of `totalFrames` frames at `videoFps`; `framesPerGrid` is the
 * temporal patch size. Throws when the video is too short to give one temporal patch.
 */
export function sampleFrames(totalFrames: number, videoFps: number, framesPerGrid: number, s: FrameSampling): SampledFrames {
  if (!(totalFrames >= 1) || !(videoFps > 0)) throw new Error(`cannot sample frames: ${totalFrames} frames at ${videoFps} fps`);
  const n = s.rule === 'qwen-vl-utils' ? qwenVlUtilsCount(totalFrames, videoFps, framesPerGrid, s) : transformersCount(totalFrames, videoFps, framesPerGrid, s);
  if (!(n >= framesPerGrid && n <= totalFrames)) {
    throw new Error(`the video has ${totalFrames} frames; sampling (${describe(s)}) gives ${n}, expected between ${framesPerGrid} and ${totalFrames}`);
  }
  if (s.rule === 'qwen-vl-utils') {
    const points = linspaceF32(0, totalFrames - 1, n);
    const indices = Int32Array.from(points, (p) => roundHalfEven(p));
    return { indices, sampledFps: (n / totalFrames) * videoFps };
  }
  const step = totalFrames / n;
  const count = Math.ceil(totalFrames / step); // torch.arange's length
  const indices = new Int32Array(count);
  for (let i = 0; i < count; i++) indices[i] = Math.trunc(Math.fround(i * step));
  return { indices, sampledFps: s.nframes !== undefined ? (n / totalFrames) * videoFps : s.fps };
}

function qwenVlUtilsCount(total: number, videoFps: number, factor: number, s: FrameSampling): number {
  if (s.nframes !== undefined) return roundByFactor(s.nframes, factor);
  const minFrames = ceilByFactor(s.minFrames, factor);
  const maxFrames = floorByFactor(Math.min(s.maxFrames, total), factor);
  const n = (total / videoFps) * s.fps;
  return floorByFactor(Math.min(Math.max(n, minFrames), maxFrames, total), factor);
}

function transformersCount(total: number, videoFps: number, factor: number, s: FrameSampling): number {
  if (s.nframes !== undefined) return roundByFactor(s.nframes, factor);
  const maxFrames = floorByFactor(Math.min(s.maxFrames, total), factor);
  const n = (total / videoFps) * s.fps;
  return floorByFactor(Math.min(Math.max(n, s.minFrames), maxFrames, total), factor);
}

function describe(s: FrameSampling): string {
  return s.nframes !== undefined ? `nframes ${s.nframes}` : `${s.rule}, ${s.fps} fps, frames ${s.minFrames}..${s.maxFrames}`;
}
