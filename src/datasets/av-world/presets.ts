/**
 * Clip presets of the AV world. A clip is `frames` video frames at `fps`; each frame is a
 * grid of `gridRows × gridCols` patches of `cellPx` pixels, followed in the token stream by
 * the audio tokens of the same period (time-interleaved, as Qwen2.5-Omni's TMRoPE chunks).
 */
export interface AvPreset {
  name: string;
  frames: number;
  fps: number;
  gridRows: number;
  gridCols: number;
  cellPx: number;
  sampleRate: number;
  /** STFT hop and window in samples; FFT size is the next power of two ≥ window. */
  hop: number;
  window: number;
  melBands: number;
  /** Log-mel frames grouped into one audio token. */
  melPerToken: number;
}

const BASE = { fps: 8, gridRows: 4, gridCols: 4, cellPx: 8, sampleRate: 16000, hop: 100, window: 400, melBands: 16, melPerToken: 2 };

export const PRESETS = {
  /** 8 frames: ≈ 220 tokens, for tests and the first training stage. */
  tiny: { name: 'tiny', frames: 8, ...BASE },
  /** 40 frames (5 s): 640 video + 400 audio tokens + question ≈ 1,050 tokens. */
  default: { name: 'default', frames: 40, ...BASE },
  /** 160 frames (20 s): ≈ 4,170 tokens, for speed studies. */
  long: { name: 'long', frames: 160, ...BASE },
} as const satisfies Record<string, AvPreset>;

export type PresetName = keyof typeof PRESETS;

export function presetByName(name: string): AvPreset {
  const p = (PRESETS as Record<string, AvPreset>)[name];
  if (!p) throw new RangeError(`av-world preset "${name}" is unknown; expected one of ${Object.keys(PRESETS).join(', ')}`);
  return p;
}

/** The same preset with another frame count (training curricula vary clip length). */
export function withFrames(p: AvPreset, frames: number): AvPreset {
  if (!Number.isInteger(frames) || frames < 4) throw new RangeError(`frames must be an integer ≥ 4; got ${frames}`);
  return { ...p, name: `${p.name}-f${frames}`, frames };
}

export const patchesPerFrame = (p: AvPreset): number => p.gridRows * p.gridCols;
export const samplesPerFrame = (p: AvPreset): number => p.sampleRate / p.fps;
export const audioTokensPerFrame = (p: AvPreset): number => samplesPerFrame(p) / (p.hop * p.melPerToken);
/** Media tokens of one clip (video patches + audio tokens). */
export const mediaTokens = (p: AvPreset): number => p.frames * (patchesPerFrame(p) + audioTokensPerFrame(p));
