/**
 * A ComputeBackend decorator that adds the wall time of every call to a per-kind tally
 * (attention, linear, the small ops), so a decode step's time can be split by where it goes.
 * Timing costs two performance.now() per call (~0.1 µs each); that cost lands in the step's
 * remainder ("overhead"), never in a kernel's column.
 */
import type { AttendArgs, ComputeBackend, LinearWeight } from '../src/attention/backend.js';

/** Milliseconds spent in each kind of backend call since the last reset. */
export interface BackendTally {
  attentionMs: number;
  linearMs: number;
  /** rmsNorm, rope and siluMul together. */
  smallOpsMs: number;
  /** Backend calls (each one N-API call on the native backends). */
  calls: number;
}

export class TimedBackend implements ComputeBackend {
  readonly name: ComputeBackend['name'];
  readonly readsCoded?: boolean;
  tally: BackendTally = { attentionMs: 0, linearMs: 0, smallOpsMs: 0, calls: 0 };

  constructor(private readonly inner: ComputeBackend) {
    this.name = inner.name;
    if (inner.readsCoded !== undefined) this.readsCoded = inner.readsCoded;
  }

  /** Returns the tally so far and starts a new one. */
  take(): BackendTally {
    const t = this.tally;
    this.tally = { attentionMs: 0, linearMs: 0, smallOpsMs: 0, calls: 0 };
    return t;
  }

  attend(args: AttendArgs) {
    const t0 = performance.now();
    const r = this.inner.attend(args);
    this.tally.attentionMs += performance.now() - t0;
    this.tally.calls++;
    return r;
  }

  linear(x: Float32Array, m: number, w: LinearWeight, bias?: Float32Array, out?: Float32Array): Float32Array {
    const t0 = performance.now();
    const r = this.inner.linear(x, m, w, bias, out);
    this.tally.linearMs += performance.now() - t0;
    this.tally.calls++;
    return r;
  }

  rmsNorm(x: Float32Array, rows: number, dim: number, weight: Float32Array, eps: number, out?: Float32Array): Float32Array {
    const t0 = performance.now();
    const r = this.inner.rmsNorm(x, rows, dim, weight, eps, out);
    this.tally.smallOpsMs += performance.now() - t0;
    this.tally.calls++;
    return r;
  }

  rope(x: Float32Array, n: number, heads: number, headDim: number, rotaryDim: number, cos: Float32Array, sin: Float32Array): void {
    const t0 = performance.now();
    this.inner.rope(x, n, heads, headDim, rotaryDim, cos, sin);
    this.tally.smallOpsMs += performance.now() - t0;
    this.tally.calls++;
  }

  siluMul(gate: Float32Array, up: Float32Array, out?: Float32Array): Float32Array {
    const t0 = performance.now();
    const r = this.inner.siluMul(gate, up, out);
    this.tally.smallOpsMs += performance.now() - t0;
    this.tally.calls++;
    return r;
  }
}
