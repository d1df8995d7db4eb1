/**
 * Audio front-end: log-mel spectrogram of the mono mix (Hann window, power spectrum,
 * triangular mel filters) plus the inter-aural level difference per STFT frame;
 * `melPerToken` consecutive frames form one audio token.
 * Token features: [melPerToken × melBands log-mel] ++ [melPerToken ILD] ++ [onset strength,
 * time in seconds] (f32, roughly unit scale). Onset strength is the rise of the mean log-mel
 * energy from the previous token (spectral flux, as audio encoders' onset detectors give);
 * the time stamp is the token's start, as time-aligned AV-LLMs give every media token.
 */
import type { StereoAudio } from './render-audio.js';
import type { AvPreset } from './presets.js';

export const audioFeatureDim = (p: AvPreset): number => p.melPerToken * (p.melBands + 1) + 2;

const hz2mel = (f: number): number => 2595 * Math.log10(1 + f / 700);
const mel2hz = (m: number): number => 700 * (10 ** (m / 2595) - 1);

const twiddleCache = new Map<number, { cos: Float64Array; sin: Float64Array }>();

function twiddles(n: number): { cos: Float64Array; sin: Float64Array } {
  let t = twiddleCache.get(n);
  if (!t) {
    t = { cos: new Float64Array(n / 2), sin: new Float64Array(n / 2) };
    for (let k = 0; k < n / 2; k++) {
      t.cos[k] = Math.cos((-2 * Math.PI * k) / n);
      t.sin[k] = Math.sin((-2 * Math.PI * k) / n);
    }
    twiddleCache.set(n, t);
  }
  return t;
}

/** In-place iterative radix-2 FFT over (re, im) of power-of-two length. */
export function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  if ((n & (n - 1)) !== 0 || im.length !== n) throw new RangeError(`fft: length ${n} must be a power of two and match im (${im.length})`);
  const tw = twiddles(n);
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      const tr = re[i]!;
      re[i] = re[j]!;
      re[j] = tr;
      const ti = im[i]!;
      im[i] = im[j]!;
      im[j] = ti;
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const step = n / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < len / 2; k++) {
        const wr = tw.cos[k * step]!;
        const wi = tw.sin[k * step]!;
        const a = i + k;
        const b = a + len / 2;
        const xr = re[b]! * wr - im[b]! * wi;
        const xi = re[b]! * wi + im[b]! * wr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
      }
    }
  }
}

interface MelFilter {
  lo: number;
  w: Float64Array;
}

/** Triangular mel filterbank: per band, its first bin and weights over its support. */
function melFilters(bands: number, nfft: number, sr: number): MelFilter[] {
  const edges = Array.from({ length: bands + 2 }, (_, i) => mel2hz((hz2mel(sr / 2) * i) / (bands + 1)));
  const bins = nfft / 2 + 1;
  return Array.from({ length: bands }, (_, b) => {
    const w = new Float64Array(bins);
    for (let k = 0; k < bins; k++) {
      const f = (k * sr) / nfft;
      const up = (f - edges[b]!) / (edges[b + 1]! - edges[b]!);
      const down = (edges[b + 2]! - f) / (edges[b + 2]! - edges[b + 1]!);
      w[k] = Math.max(0, Math.min(up, down));
    }
    let lo = 0;
    while (lo < bins && w[lo] === 0) lo++;
    let hi = bins;
    while (hi > lo && w[hi - 1] === 0) hi--;
    return { lo, w: w.slice(lo, hi) };
  });
}

/** audio → features [tokens][audioFeatureDim(preset)] with tokens = samples / (hop·melPerToken). */
export function audioFeatures(audio: StereoAudio, preset: AvPreset): Float32Array {
  const { hop, window: win, melBands: B, melPerToken: G } = preset;
  let nfft = 1;
  while (nfft < win) nfft <<= 1;
  const filters = melFilters(B, nfft, audio.sampleRate);
  const hann = Float64Array.from({ length: win }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / win));
  const total = audio.left.length;
  const frames = Math.floor(total / hop);
  const tokens = Math.floor(frames / G);
  const D = audioFeatureDim(preset);
  const out = new Float32Array(tokens * D);
  const re = new Float64Array(nfft);
  const im = new Float64Array(nfft);
  for (let m = 0; m < tokens * G; m++) {
    const t0 = m * hop + hop / 2 - win / 2;
    re.fill(0);
    im.fill(0);
    let eL = 1e-7;
    let eR = 1e-7;
    for (let i = 0; i < win; i++) {
      const s = t0 + i;
      if (s < 0 || s >= total) continue;
      const l = audio.left[s]!;
      const r = audio.right[s]!;
      eL += l * l;
      eR += r * r;
      re[i] = 0.5 * (l + r) * hann[i]!;
    }
    fft(re, im);
    const o = Math.floor(m / G) * D + (m % G) * B;
    for (let k = 0; k <= nfft / 2; k++) re[k] = re[k]! * re[k]! + im[k]! * im[k]!;
    for (let b = 0; b < B; b++) {
      const { lo, w } = filters[b]!;
      let e = 1e-7;
      for (let k = 0; k < w.length; k++) e += w[k]! * re[lo + k]!;
      out[o + b] = (Math.log(e) + 8) / 6;
    }
    out[Math.floor(m / G) * D + G * B + (m % G)] = Math.log(eL / eR) / 2;
  }
  addOnsetAndTime(out, tokens, D, B, G, (hop * G) / audio.sampleRate);
  return out;
}

/**
 * Fills the last two features of each token: onset strength (the rise of the frame's total
 * log-mel energy (nats / 2.5) from the previous token's last frame to this token's first:
 * an event onset lifts it by ≈ 1, background flicker and a chirp's
 * sweep barely move it) and start time (seconds).
 */
function addOnsetAndTime(out: Float32Array, tokens: number, D: number, B: number, G: number, tokenSec: number): void {
  // Undo the log-mel scaling ((ln e + 8) / 6) to sum band energies of one STFT frame.
  const logEnergy = (t: number, frame: number): number => {
    let e = 0;
    for (let b = 0; b < B; b++) e += Math.exp(6 * out[t * D + frame * B + b]! - 8);
    return Math.log(e);
  };
  const flux = (t: number): number => {
    return Math.max(0, logEnergy(t, 0) - logEnergy(t - 1, G - 1)) / 2.5;
  };
  for (let t = 0; t < tokens; t++) {
    out[t * D + D - 2] = t === 0 ? 0 : flux(t);
    out[t * D + D - 1] = t * tokenSec;
  }
}
