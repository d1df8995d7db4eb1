/**
 * Independent oracle for the reference attention: materialises the full [qHeads][n][len]
 * probability matrix in f64 (fine at test sizes) and derives every statistic from it by the
 * definitions in src/attention/stats.ts, with no shared code beyond the scalar half codecs.
 */
import type { KVLayout } from '../../src/attention/backend.js';
import { bf16ToF32, f16ToF32 } from '../../src/util/half.js';

export interface BruteForceResult {
  out: Float64Array;
  /** [kvHeads][len] per statistic; flows [kvHeads][16]; rowEntropy [kvHeads][n]. */
  cumulative: number[][];
  window: number[][];
  lastQuery: number[][];
  textColumn: number[][];
  redistributed: number[][];
  flows: number[][];
  rowEntropy: number[][];
}

function elem(kv: KVLayout, buf: 'keys' | 'values', i: number): number {
  const b = kv[buf];
  if (kv.dtype === 'f32') return b[i]!;
  return kv.dtype === 'f16' ? f16ToF32(b[i]!) : bf16ToF32(b[i]!);
}

export function bruteForceAttention(
  q: Float32Array,
  n: number,
  qHeads: number,
  qPositions: Int32Array,
  qModality: Uint8Array,
  kv: KVLayout,
  scale: number,
  windowSize: number,
): BruteForceResult {
  const { kvHeads, headDim: d, capacity } = kv;
  const group = qHeads / kvHeads;
  const out = new Float64Array(n * qHeads * d);
  const r: BruteForceResult = { out, cumulative: [], window: [], lastQuery: [], textColumn: [], redistributed: [], flows: [], rowEntropy: [] };
  for (let h = 0; h < kvHeads; h++) {
    const len = kv.lengths[h]!;
    // P[g][i][j]: the full probability matrix of this KV head's group.
    const P: number[][][] = [];
    for (let g = 0; g < group; g++) {
      const qh = h * group + g;
      const rows: number[][] = [];
      for (let i = 0; i < n; i++) {
        const logits = new Array<number>(len).fill(-Infinity);
        for (let j = 0; j < len; j++) {
          if (kv.positions[h * capacity + j]! > qPositions[i]!) continue;
          let s = 0;
          for (let t = 0; t < d; t++) s += q[(i * qHeads + qh) * d + t]! * elem(kv, 'keys', (h * capacity + j) * d + t);
          logits[j] = s * scale;
        }
        const m = Math.max(-Infinity, ...logits);
        const e = logits.map((x) => (x === -Infinity ? 0 : Math.exp(x - m)));
        const z = e.reduce((a, b) => a + b, 0);
        const p = e.map((x) => (z > 0 ? x / z : 0));
        rows.push(p);
        for (let t = 0; t < d; t++) {
          let o = 0;
          for (let j = 0; j < len; j++) o += p[j]! * elem(kv, 'values', (h * capacity + j) * d + t);
          out[(i * qHeads + qh) * d + t] = o;
        }
      }
      P.push(rows);
    }
    const colSum = (pred: (i: number) => boolean, f: (i: number) => number = () => 1): number[] =>
      Array.from({ length: len }, (_, j) => {
        let s = 0;
        for (let g = 0; g < group; g++) for (let i = 0; i < n; i++) if (pred(i)) s += P[g]![i]![j]! * f(i);
        return s;
      });
    const w = Math.min(windowSize, n);
    r.cumulative.push(colSum(() => true));
    r.window.push(colSum((i) => i >= n - w));
    r.lastQuery.push(colSum((i) => i === n - 1));
    r.textColumn.push(colSum((i) => qModality[i] === 0));
    const raw = colSum(() => true, (i) => qPositions[i]! + 1);
    r.redistributed.push(
      raw.map((x, j) => {
        let count = 0;
        for (let i = 0; i < n; i++) if (qPositions[i]! >= kv.positions[h * capacity + j]!) count++;
        return count > 0 ? x / count : 0;
      }),
    );
    const flows = new Array<number>(16).fill(0);
    for (let g = 0; g < group; g++)
      for (let i = 0; i < n; i++)
        for (let j = 0; j < len; j++) flows[qModality[i]! * 4 + kv.modality[h * capacity + j]!] += P[g]![i]![j]!;
    r.flows.push(flows);
    r.rowEntropy.push(
      Array.from({ length: n }, (_, i) => {
        let s = 0;
        for (let g = 0; g < group; g++) for (const p of P[g]![i]!) if (p > 0) s -= p * Math.log(p);
        return s / group;
      }),
    );
  }
  return r;
}
