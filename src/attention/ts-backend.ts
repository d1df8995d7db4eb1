/**
 * The pure-TypeScript ComputeBackend: reference attention plus the reference model ops. Always
 * available (no addon needed) and the oracle the native backends are tested against. It reads
 * quantized storage (KVLayout.coded) itself, decoding one KV head at a time.
 */
import type { ComputeBackend } from './backend.js';
import { referenceAttend } from './reference-attention.js';
import { referenceLinear, referenceRmsNorm, referenceRope, referenceSiluMul } from './reference-ops.js';

export const tsBackend: ComputeBackend = {
  name: 'ts',
  readsCoded: true,
  attend: referenceAttend,
  linear: referenceLinear,
  rmsNorm: referenceRmsNorm,
  rope: referenceRope,
  siluMul: referenceSiluMul,
};
