/**
 * Next-token selection: greedy (temperature 0) or sampling with temperature and nucleus
 * (top-p) from a seeded generator. Scratch buffers are allocated once per sampler.
 */
import { mulberry32 } from '../util/random.js';

export interface SamplingOptions {
  /** 0 = greedy (default). */
  temperature?: number;
  /** Nucleus mass in (0, 1]; 1 = no truncation (default). */
  topP?: number;
  seed?: number;
}

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

/** log Σ exp(x) computed stably, f64. */
export function logSumExp(x: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i]! > m) m = x[i]!;
  if (m === -Infinity) return m;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.exp(x[i]! - m);
  return m + Math.log(s);
}

/** log softmax of logits into out [vocab] f64. */
export function logSoftmax(logits: ArrayLike<number>, out = new Float64Array(logits.length)): Float64Array {
  const lse = logSumExp(logits);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i]! - lse;
  return out;
}

export class Sampler {
  readonly temperature: number;
  readonly topP: number;
  private readonly rand: () => number;
  private probs = new Float64Array(0);
  private order = new Uint32Array(0);

  constructor(opts: SamplingOptions = {}) {
    this.temperature = opts.temperature ?? 0;
    this.topP = opts.topP ?? 1;
    if (!(this.temperature >= 0) || !Number.isFinite(this.temperature)) throw new RangeError(`temperature must be a finite number ≥ 0; got ${opts.temperature}`);
    if (!(this.topP > 0 && this.topP <= 1)) throw new RangeError(`topP must be in (0, 1]; got ${opts.topP}`);
    this.rand = mulberry32(opts.seed ?? 0);
  }

  /** Picks the next token from logits [vocab]. */
  next(logits: Float32Array): number {
    if (this.temperature === 0) return argmax(logits);
    const v = logits.length;
    if (this.probs.length !== v) {
      this.probs = new Float64Array(v);
      this.order = new Uint32Array(v);
    }
    const p = this.probs;
    let max = -Infinity;
    for (let i = 0; i < v; i++) if (logits[i]! > max) max = logits[i]!;
    let sum = 0;
    for (let i = 0; i < v; i++) sum += p[i] = Math.exp((logits[i]! - max) / this.temperature);
    if (this.topP >= 1) return this.draw(p, sum, null, v);
    const order = this.order;
    for (let i = 0; i < v; i++) order[i] = i;
    order.sort((a, b) => p[b]! - p[a]!);
    let kept = 0;
    let mass = 0;
    while (kept < v && mass < this.topP * sum) mass += p[order[kept++]!]!;
    return this.draw(p, mass, order, kept);
  }

  private draw(p: Float64Array, total: number, order: Uint32Array | null, count: number): number {
    let r = this.rand() * total;
    for (let k = 0; k < count; k++) {
      const i = order ? order[k]! : k;
      r -= p[i]!;
      if (r < 0) return i;
    }
    return order ? order[count - 1]! : count - 1;
  }
}
