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
  /** RoPE position of the next text token (equals `length` except after mrope spans). */
  ropeNext: number;

  constructor(session: CacheSession, length = 0, ropeNext = 0) {
    this.session = session;
    this.length = length;
    this.ropeNext = ropeNext;
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
