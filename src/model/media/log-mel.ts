/**
 * Whisper log-mel features with WhisperFeatureExtractor's numerics (the NumPy path):
 * the waveform is zero-padded (or truncated) to `maxSamples`; a centred STFT (reflect padding
 * of n_fft / 2, periodic Hann window, hop `hopLength`) gives power spectra; mel = filters ·
 * power, floored at 1e-10; log10; the last frame is dropped; values below (max − 8) are raised
 * to it; then (x + 4) / 4. The max is taken over the whole padded spectrogram, as HF does.
 * Frames whose window sees only padding are exactly log10(1e-10) and are not transformed.
 */
import { Fft } from './fft.js';
import { slaneyMelFilters } from './mel-filters.js';

export interface LogMelSettings {
  numMel: number;
  sampleRate: number;
  hopLength: number;
  nFft: number;
  maxSamples: number;
}

export interface LogMel {
  /** [numMel][frames] f32. */
  features: Float32Array;
  frames: number;
  /** Frames the attention mask marks valid: ceil(samples used / hopLength). */
  validFrames: number;
  /** Samples of `pcm` used (after truncation to maxSamples). */
  samplesUsed: number;
}

const MEL_FLOOR = 1e-10;

/**
 * pcm: [samples] f32 mono at `s.sampleRate`. Returns all `maxSamples / hop` frames when
 * `padToMaxLength` (HF's input_features), else only the valid frames (what the Omni audio tower
 * consumes: the thinker keeps input_features[feature_attention_mask]); the values are the same.
 */
export function whisperLogMel(pcm: Float32Array, s: LogMelSettings, padToMaxLength = false): LogMel {
  const { nFft, hopLength: hop, numMel, maxSamples: total } = s;
  if (nFft % 2 !== 0) throw new Error(`whisperLogMel: n_fft ${nFft} must be even`);
  const used = Math.min(pcm.length, total);
  const half = nFft / 2;
  const allFrames = Math.floor(total / hop); // 1 + floor(total / hop) STFT frames, the last dropped
  const validFrames = Math.min(Math.ceil(used / hop), allFrames);
  // Frames past this one see only zero padding (unless the end reflection reaches real samples).
  const touching = used > total - nFft ? allFrames : Math.min(allFrames, Math.floor((used - 1 + half) / hop) + 1);
  const outFrames = padToMaxLength ? allFrames : validFrames;

  const numBins = half + 1;
  const filters = slaneyMelFilters(numBins, numMel, s.sampleRate);
  const window = new Float64Array(nFft);
  for (let j = 0; j < nFft; j++) window[j] = 0.5 - 0.5 * Math.cos((2 * Math.PI * j) / nFft);
  const fft = new Fft(nFft);
  const re = new Float64Array(nFft);
  const im = new Float64Array(nFft);
  const outRe = new Float64Array(nFft);
  const outIm = new Float64Array(nFft);
  const power = new Float64Array(numBins);
  const logMel = new Float64Array(numMel * touching);
  let max = Math.log10(MEL_FLOOR);

  for (let f = 0; f < touching; f++) {
    for (let j = 0; j < nFft; j++) {
      let i = f * hop + j - half;
      if (i < 0) i = -i;
      else if (i >= total) i = 2 * (total - 1) - i;
      re[j] = (i < used ? pcm[i]! : 0) * window[j]!;
    }
    im.fill(0);
    fft.transform(re, im, outRe, outIm);
    for (let b = 0; b < numBins; b++) power[b] = outRe[b]! * outRe[b]! + outIm[b]! * outIm[b]!;
    for (let m = 0; m < numMel; m++) {
      let acc = 0;
      const row = m * numBins;
      for (let b = 0; b < numBins; b++) acc += filters[row + b]! * power[b]!;
      const v = Math.log10(Math.max(MEL_FLOOR, acc));
      logMel[m * touching + f] = v;
      if (v > max) max = v;
    }
  }

  const threshold = max - 8;
  const silent = (Math.max(Math.log10(MEL_FLOOR), threshold) + 4) / 4;
  const features = new Float32Array(numMel * outFrames);
  for (let m = 0; m < numMel; m++) {
    for (let f = 0; f < outFrames; f++) {
      features[m * outFrames + f] = f < touching ? (Math.max(logMel[m * touching + f]!, threshold) + 4) / 4 : silent;
    }
  }
  return { features, frames: outFrames, validFrames, samplesUsed: used };
}
