/** Adam with decoupled weight decay (AdamW) and global-norm gradient clipping. */
import { zerosLike, type Params } from './params.js';

export interface AdamOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  clipNorm: number;
}

export const DEFAULT_ADAM: AdamOptions = { beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: 0.01, clipNorm: 1 };

export class Adam {
  readonly m: Params;
  readonly v: Params;
  step = 0;

  constructor(params: Params, private readonly opts: AdamOptions = DEFAULT_ADAM) {
    this.m = zerosLike(params);
    this.v = zerosLike(params);
  }

  /** Restores moments saved from `m` / `v` (names prefixed "adam.m." / "adam.v."). */
  restore(saved: Params, step: number): void {
    for (const [prefix, into] of [['adam.m.', this.m], ['adam.v.', this.v]] as const) {
      for (const [name, t] of into) {
        const s = saved.get(prefix + name);
        if (!s || s.data.length !== t.data.length) throw new Error(`checkpoint: optimizer tensor "${prefix + name}" is missing or has the wrong size`);
        t.data.set(s.data);
      }
    }
    this.step = step;
  }

  /** Moments as named tensors for a checkpoint. */
  state(): Params {
    const out: Params = new Map();
    for (const [name, t] of this.m) out.set(`adam.m.${name}`, t);
    for (const [name, t] of this.v) out.set(`adam.v.${name}`, t);
    return out;
  }

  /** Applies one update with learning rate `lr`; returns the gradient norm before clipping. */
  update(params: Params, grads: Params, lr: number): number {
    let ss = 0;
    for (const g of grads.values()) for (let i = 0; i < g.data.length; i++) ss += g.data[i]! * g.data[i]!;
    const norm = Math.sqrt(ss);
    const clip = norm > this.opts.clipNorm ? this.opts.clipNorm / norm : 1;
    this.step++;
    const { beta1: b1, beta2: b2, eps, weightDecay } = this.opts;
    const c1 = 1 - b1 ** this.step;
    const c2 = 1 - b2 ** this.step;
    for (const [name, p] of params) {
      const g = grads.get(name)!.data;
      const m = this.m.get(name)!.data;
      const v = this.v.get(name)!.data;
      // No decay on norms, biases and embeddings-as-lookup rows.
      const decay = p.shape.length === 2 && !name.includes('embed_tokens') ? weightDecay : 0;
      const w = p.data;
      for (let i = 0; i < w.length; i++) {
        const gi = g[i]! * clip;
        m[i] = b1 * m[i]! + (1 - b1) * gi;
        v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
        w[i] -= lr * ((m[i]! / c1) / (Math.sqrt(v[i]! / c2) + eps) + decay * w[i]!);
      }
    }
    return norm;
  }
}
