/**
 * The pure-TypeScript ComputeBackend: reference attention plus the reference model ops. Always
 * available (no addon needed) and the oracle the native backends are tested against.
 */
import type { ComputeBackend } from './backend.js';
import { referenceAttend } from './reference-attention.js';
import { referenceLinear, referenceRmsNorm, referenceRope, referenceSiluMul } from './reference-ops.js';

export const tsBackend: ComputeBackend = {
  name: 'ts',
  attend: referenceAttend,
  linear: referenceLinear,
  rmsNorm: referenceRmsNorm,
  rope: referenceRope,
  siluMul: referenceSiluMul,
};
