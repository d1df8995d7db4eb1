/**
 * The Qwen2.5-Omni audio encoder on the ComputeBackend, as transformers'
 * Qwen2_5OmniAudioEncoder computes one clip:
 *   mel frames are cut into chunks of 2·n_window frames (the last one shorter); per chunk,
 *   conv1 (k3 p1) + GELU, conv2 (k3 s2 p1) + GELU, + sinusoidal positions from 0;
 *   layers attend bidirectionally inside each chunk (x += out(attn(LN x)); x += fc2(gelu(fc1(LN x))));
 *   then over the whole clip: average pooling of frame pairs, ln_post, proj.
 * Each chunk is convolved on its own with zero padding, which is what transformers' padded
 * batch computes (it zeroes padded frames between the two convs).
 */
import type { ComputeBackend } from '../../attention/backend.js';
import { addInPlace, avgPoolPairs, conv1d, geluInPlace, layerNorm } from './ops.js';
import { attendSegments } from './segment-attention.js';
import type { AudioTowerConfig } from './tower-config.js';
import { audioTokenCount } from './token-counts.js';
import type { AudioLayerWeights, AudioWeights } from './audio-weights.js';

/** eps of nn.LayerNorm's default (the encoder does not set one). */
const LN_EPS = 1e-5;

export class AudioTower {
  private positions?: Float32Array;

  constructor(
    readonly config: AudioTowerConfig,
    readonly weights: AudioWeights,
  ) {}

  tokenCount(frames: number): number {
    return audioTokenCount(frames);
  }

  /**
   * features: [numMelBins][frames] f32 log-mel (row stride `frames`); the first `validFrames`
   * columns are encoded. Returns [audioTokenCount(validFrames)][outputDim] f32.
   */
  encode(backend: ComputeBackend, features: Float32Array, frames: number, validFrames = frames): Float32Array {
    const c = this.config;
    if (!Number.isInteger(frames) || frames < 1) throw new RangeError(`AudioTower.encode: frames must be a whole number ≥ 1; got ${frames}`);
    if (features.length !== c.numMelBins * frames) {
      throw new RangeError(`AudioTower.encode: features has ${features.length} elements; expected num_mel_bins × frames = ${c.numMelBins} × ${frames}`);
    }
    if (!Number.isInteger(validFrames) || validFrames < 2 || validFrames > frames) {
      throw new RangeError(`AudioTower.encode: validFrames must be a whole number in [2, ${frames}] (one token needs 2 frames after the stride-2 conv); got ${validFrames}`);
    }
    const d = c.dModel;
    const chunk = 2 * c.nWindow;
    const pieces: Float32Array[] = [];
    const segments = [0];
    for (let start = 0; start < validFrames; start += chunk) {
      const len = Math.min(chunk, validFrames - start);
      const h = this.front(backend, features, frames, start, len);
      pieces.push(h);
      segments.push(segments[segments.length - 1]! + h.length / d);
    }
    const n = segments[segments.length - 1]!;
    const x = new Float32Array(n * d);
    pieces.forEach((p, i) => x.set(p, segments[i]! * d));
    for (const w of this.weights.layers) this.layer(backend, x, n, w, segments);
    const pooled = avgPoolPairs(x, n, d);
    const rows = n >> 1;
    const normed = layerNorm(pooled, rows, d, this.weights.lnPost.weight, this.weights.lnPost.bias, LN_EPS);
    return backend.linear(normed, rows, this.weights.proj, this.weights.projBias);
  }

  /** Conv front end of one chunk (mel columns [start, start+len)) → [(len−1)/2+1][d] with positions added. */
  private front(b: ComputeBackend, features: Float32Array, frames: number, start: number, len: number): Float32Array {
    const c = this.config;
    const w = this.weights;
    const mel = new Float32Array(len * c.numMelBins); // token-major [len][mel]
    for (let f = 0; f < c.numMelBins; f++) for (let t = 0; t < len; t++) mel[t * c.numMelBins + f] = features[f * frames + start + t]!;
    const h1 = geluInPlace(conv1d(b, mel, len, c.numMelBins, w.conv1, w.conv1Bias, 3, 1, 1));
    const h2 = geluInPlace(conv1d(b, h1, len, c.dModel, w.conv2, w.conv2Bias, 3, 2, 1));
    const pe = this.sinusoids();
    for (let i = 0; i < h2.length; i++) h2[i]! += pe[i]!;
    return h2;
  }

  /** [maxSourcePositions][d]: sin(t·θ_j) | cos(t·θ_j), θ_j = 10000^(−j/(d/2 − 1)). */
  private sinusoids(): Float32Array {
    if (this.positions) return this.positions;
    const { dModel: d, maxSourcePositions: len } = this.config;
    const half = d / 2;
    const inc = Math.log(10000) / (half - 1);
    const pe = new Float32Array(len * d);
    for (let j = 0; j < half; j++) {
      const inv = Math.fround(Math.exp(-inc * j));
      for (let t = 0; t < len; t++) {
        const a = Math.fround(t * inv);
        pe[t * d + j] = Math.sin(a);
        pe[t * d + half + j] = Math.cos(a);
      }
    }
    this.positions = pe;
    return pe;
  }

  private layer(b: ComputeBackend, x: Float32Array, n: number, w: AudioLayerWeights, segments: readonly number[]): void {
    const c = this.config;
    const d = c.dModel;
    const h = layerNorm(x, n, d, w.attnNorm.weight, w.attnNorm.bias, LN_EPS);
    const q = b.linear(h, n, w.q, w.qBias);
    const k = b.linear(h, n, w.k);
    const v = b.linear(h, n, w.v, w.vBias);
    const att = attendSegments(b, q, k, v, n, c.heads, c.headDim, segments);
    addInPlace(x, b.linear(att, n, w.out, w.outBias));
    const h2 = layerNorm(x, n, d, w.ffnNorm.weight, w.ffnNorm.bias, LN_EPS);
    const mid = geluInPlace(b.linear(h2, n, w.fc1, w.fc1Bias));
    addInPlace(x, b.linear(mid, n, w.fc2, w.fc2Bias));
  }
}
