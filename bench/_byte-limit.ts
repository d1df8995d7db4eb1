/**
 * The byte limit of decode: one token must read every weight matrix once plus the K/V it
 * attends over, so tok/s can be at most (read bandwidth) ÷ (bytes per token). The bandwidth is
 * measured in the run by the native read-only sweep (the probe bench/kernels.ts uses), on the
 * decode's thread count.
 */
import { loadAddon } from '../src/attention/native/addon.js';
import type { ModelConfig } from '../src/model/config.js';

/** Bytes of the weights one decode step reads: every layer's matrices, the LM head and the norms (one embedding row is negligible). */
export function weightBytesPerToken(c: ModelConfig, bytesPerWeight: number): number {
  const qd = c.qHeads * c.headDim;
  const kvd = c.kvHeads * c.headDim;
  const perLayer = c.hiddenSize * (2 * qd + 2 * kvd + 3 * c.intermediateSize);
  const norms = (2 * c.numLayers + 1) * c.hiddenSize;
  return (c.numLayers * perLayer + c.vocabSize * c.hiddenSize + norms) * bytesPerWeight;
}

/** Read-only sweep GB/s (1e9 bytes/s) over `mib` MiB on `threads` threads; undefined without the native addon. */
export function readBandwidth(threads: number, mib = 256, reps = 3): number | undefined {
  const addon = loadAddon();
  if (!addon) return undefined;
  addon.setThreads(threads);
  return addon.streamRead(mib, reps);
}

/** Fraction of the byte limit a decode speed reaches: tokS · bytesPerToken ÷ bandwidth. */
export function byteLimitFraction(tokS: number, bytesPerToken: number, gbPerS: number): number {
  return (tokS * bytesPerToken) / (gbPerS * 1e9);
}
