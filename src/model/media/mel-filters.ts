/**
 * The Slaney-style mel filter bank of HF `audio_utils.mel_filter_bank(norm="slaney",
 * mel_scale="slaney")`, which WhisperFeatureExtractor builds with min 0 Hz and max 8000 Hz:
 * triangles between mel-spaced edge frequencies (linear below 1 kHz, logarithmic above),
 * each scaled by 2 / (its bandwidth in Hz) so that every filter has unit area.
 */

const MIN_LOG_HERTZ = 1000;
const MIN_LOG_MEL = 15;
const LOG_STEP = 27 / Math.log(6.4);

export function hertzToMel(hz: number): number {
  return hz >= MIN_LOG_HERTZ ? MIN_LOG_MEL + Math.log(hz / MIN_LOG_HERTZ) * LOG_STEP : (3 * hz) / 200;
}

export function melToHertz(mel: number): number {
  return mel >= MIN_LOG_MEL ? MIN_LOG_HERTZ * Math.exp((mel - MIN_LOG_MEL) / LOG_STEP) : (200 * mel) / 3;
}

/** numpy.linspace: start + i·step, with the last point exactly `stop`. */
function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = start + i * step;
  out[num - 1] = stop;
  return out;
}

/**
 * Returns [numMel][numBins] f64 weights (numBins = nFft / 2 + 1 frequency bins from 0 to
 * sampleRate / 2). Row-major by mel so that one mel value is a dot product with a power spectrum.
 */
export function slaneyMelFilters(numBins: number, numMel: number, sampleRate: number, minHz = 0, maxHz = 8000): Float64Array {
  const fftFreqs = linspace(0, Math.floor(sampleRate / 2), numBins);
  const melEdges = linspace(hertzToMel(minHz), hertzToMel(maxHz), numMel + 2);
  const edges = melEdges.map(melToHertz);
  const out = new Float64Array(numMel * numBins);
  for (let m = 0; m < numMel; m++) {
    const lo = edges[m]!;
    const mid = edges[m + 1]!;
    const hi = edges[m + 2]!;
    const norm = 2 / (hi - lo);
    for (let b = 0; b < numBins; b++) {
      const f = fftFreqs[b]!;
      const down = -(lo - f) / (mid - lo);
      const up = (hi - f) / (hi - mid);
      out[m * numBins + b] = Math.max(0, Math.min(down, up)) * norm;
    }
  }
  return out;
}
