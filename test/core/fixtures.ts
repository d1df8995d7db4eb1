/** Small builders shared by the core tests (not a test file itself). */
import type { HeadPlan, Plan, PolicyContext, PolicyInstance, RetentionStore } from '../../src/cache/policy-api.js';
import type { AttentionStats, StatNeeds } from '../../src/attention/stats.js';
import type { TokenMeta } from '../../src/cache/token-meta.js';
import { randomNormalArray } from '../../src/util/random.js';

/** Token-major [n][kvHeads][headDim] with entry (t, h, i) = f(t, h, i). */
export function tokenMajor(n: number, kvHeads: number, d: number, f: (t: number, h: number, i: number) => number): Float32Array {
  const x = new Float32Array(n * kvHeads * d);
  for (let t = 0; t < n; t++) for (let h = 0; h < kvHeads; h++) for (let i = 0; i < d; i++) x[(t * kvHeads + h) * d + i] = f(t, h, i);
  return x;
}

export const randn = randomNormalArray;

/** Keys/values row of token t, head h from a token-major tensor. */
export function rowOf(x: Float32Array, t: number, h: number, kvHeads: number, d: number): Float32Array {
  return x.slice((t * kvHeads + h) * d, (t * kvHeads + h + 1) * d);
}

/** Policy that keeps each head's last `budget` slots; records every context it sees. */
export function keepLastPolicy(needs: StatNeeds = {}, extra: Partial<PolicyInstance> = {}): PolicyInstance & { seen: PolicyContext[]; seenRandom: number[] } {
  const seen: PolicyContext[] = [];
  const seenRandom: number[] = [];
  return {
    name: 'keep-last',
    needs,
    seen,
    seenRandom,
    plan(ctx: PolicyContext): Plan {
      seen.push(ctx);
      seenRandom.push(ctx.random());
      const heads: HeadPlan[] = [];
      for (let h = 0; h < ctx.view.kvHeads; h++) {
        const len = ctx.view.length(h);
        const k = Math.min(len, ctx.budget);
        heads.push({ keep: Int32Array.from({ length: k }, (_, i) => len - k + i) });
      }
      return { heads };
    },
    ...extra,
  };
}

export interface Absorbed {
  layer: number;
  head: number;
  keys: Float32Array;
  values: Float32Array;
  meta: TokenMeta;
  strength: Float32Array;
}

/** A RetentionStore that records what it absorbs and adds a constant readout. */
export class RecordingStore implements RetentionStore {
  absorbed: Absorbed[] = [];
  readouts: AttentionStats[] = [];
  constructor(private readonly add = 0) {}
  absorb(layer: number, head: number, keys: Float32Array, values: Float32Array, meta: TokenMeta, strength: Float32Array): void {
    this.absorbed.push({ layer, head, keys, values, meta, strength });
  }
  readout(_l: number, _q: Float32Array, _n: number, _qh: number, _kvh: number, _d: number, stats: AttentionStats, out: Float32Array): void {
    this.readouts.push(stats);
    for (let i = 0; i < out.length; i++) out[i] += this.add;
  }
  bytes(): number {
    return this.absorbed.reduce((s, a) => s + a.keys.byteLength + a.values.byteLength, 0);
  }
  clone(): RecordingStore {
    const c = new RecordingStore(this.add);
    c.absorbed = this.absorbed.slice();
    return c;
  }
}
