/**
 * One sequence being decoded: its CacheSession plus the two counters the runtime keeps
 * beside it (the next sequence index and, under mrope, the next RoPE position, which run
 * apart after image spans). Session options name everything but the model's shape, which
 * comes from the model.
 */
import type { StatNeeds } from '../attention/stats.js';
import type { CacheSessionOptions, SessionForkOptions } from '../cache/session-types.js';
import { CacheSession } from '../cache/cache-session.js';
import type { Model } from './model.js';

/** CacheSessionOptions without the shape fields the model fixes (backend defaults to the model's). */
export type RuntimeSessionOptions = Partial<Omit<CacheSessionOptions, 'numLayers' | 'qHeads' | 'kvHeads' | 'headDim'>>;

export function sessionOptionsFor(model: Model, opts: RuntimeSessionOptions = {}): CacheSessionOptions {
  const c = model.config;
  return { backend: model.backend, ...opts, numLayers: c.numLayers, qHeads: c.qHeads, kvHeads: c.kvHeads, headDim: c.headDim };
}

export class Sequence {
  readonly session: CacheSession;
  /** Tokens fed so far (the next token's sequence position). */
  length: number;
  /** The next RoPE position before the session's key-rerotation shift. */
  private ropeCursor: number;

  constructor(session: CacheSession, length = 0, ropeNext = 0) {
    this.session = session;
    this.length = length;
    this.ropeCursor = ropeNext + session.ropeShift;
  }

  /**
   * RoPE position of the next text token: equals `length` except after mrope spans, and after
   * a key rerotation, which moved the kept keys to 0..k−1 (session.ropeShift = P − k), so the
   * next token continues at k while `length` (the causal mask's order) goes on from P.
   */
  get ropeNext(): number {
    return this.ropeCursor - this.session.ropeShift;
  }
  set ropeNext(next: number) {
    this.ropeCursor = next + this.session.ropeShift;
  }

  static open(model: Model, opts: RuntimeSessionOptions = {}): Sequence {
    return new Sequence(new CacheSession(sessionOptionsFor(model, opts)));
  }

  /**
   * A sequence continuing this one's unfinished prefill under other session options (policy,
   * budget, schedule, seed): see CacheSession.fork. The caller ends the fork's prefill.
   */
  fork(opts: SessionForkOptions, keepStats?: StatNeeds): Sequence {
    return new Sequence(this.session.fork(opts, keepStats), this.length, this.ropeNext);
  }

  /** An independent copy (cache, statistics and counters) to branch from, e.g. per answer choice. */
  clone(): Sequence {
    return new Sequence(this.session.clone(), this.length, this.ropeNext);
  }
}
