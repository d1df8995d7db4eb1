/**
 * Preallocated activations of one forward pass over n tokens. The decoder keeps one
 * workspace for n = 1 (decode: no allocation per token) and builds one per prefill.
 */
import { allocTokenMeta, type TokenMeta } from '../cache/token-meta.js';
import type { ModelConfig } from './config.js';
import { ropeAxes } from './rope.js';

export class Workspace {
  readonly n: number;
  /** [n][hidden] residual stream. */
  readonly x: Float32Array;
  /** [n][hidden] normed input of the current sublayer. */
  readonly xn: Float32Array;
  /** [n][qHeads][headDim] queries, then RoPE'd in place. */
  readonly q: Float32Array;
  /** [n][kvHeads][headDim] keys (RoPE'd) and values, handed to the cache. */
  readonly k: Float32Array;
  readonly v: Float32Array;
  /** [n][qHeads][headDim] attention output. */
  readonly att: Float32Array;
  /** [n][hidden] output of o_proj / down_proj before the residual add. */
  readonly proj: Float32Array;
  /** [n][intermediate] MLP gate, up and silu(gate)·up. */
  readonly gate: Float32Array;
  readonly up: Float32Array;
  readonly act: Float32Array;
  /** [n][rotaryDim/2] RoPE tables of these tokens. */
  readonly cos: Float32Array;
  readonly sin: Float32Array;
  /** [rotaryDim/2] inverse frequencies (recomputed per pass: dynamic scaling depends on length). */
  readonly invFreq: Float64Array;
  /** [axes][n] RoPE position ids. */
  readonly ropePos: Int32Array;
  /** Cache metadata of these tokens; `position` doubles as the attention query positions. */
  readonly meta: TokenMeta;
  /** [hidden] final-normed last row and [vocab] its logits. */
  readonly lastNorm: Float32Array;
  readonly logits: Float32Array;

  /** `inputs` (a prefill's position ids and metadata, read only) are adopted instead of allocated. */
  constructor(c: ModelConfig, n: number, inputs?: { ropePos: Int32Array; meta: TokenMeta }) {
    const h = c.hiddenSize;
    const qd = c.qHeads * c.headDim;
    const kvd = c.kvHeads * c.headDim;
    const half = c.rope.rotaryDim / 2;
    this.n = n;
    this.x = new Float32Array(n * h);
    this.xn = new Float32Array(n * h);
    this.q = new Float32Array(n * qd);
    this.k = new Float32Array(n * kvd);
    this.v = new Float32Array(n * kvd);
    this.att = new Float32Array(n * qd);
    this.proj = new Float32Array(n * h);
    this.gate = new Float32Array(n * c.intermediateSize);
    this.up = new Float32Array(n * c.intermediateSize);
    this.act = new Float32Array(n * c.intermediateSize);
    this.cos = new Float32Array(n * half);
    this.sin = new Float32Array(n * half);
    this.invFreq = new Float64Array(half);
    this.ropePos = inputs?.ropePos ?? new Int32Array(ropeAxes(c.rope) * n);
    this.meta = inputs?.meta ?? allocTokenMeta(n);
    this.lastNorm = new Float32Array(h);
    this.logits = new Float32Array(c.vocabSize);
  }
}
