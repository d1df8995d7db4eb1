/**
 * The TypeScript reference attention: causal-by-position, GQA, f32/f16/bf16 or quantized
 * (KVLayout.coded: int8-fp8, KIVI int4/int2) KV storage, keys pruned along headDim
 * (KVLayout.prunedKeys, ThinK: scores over the kept channels only), with
 * the statistics of stats.ts fused into the pass. It is the oracle the native CPU and CUDA
 * kernels are tested against, and the fallback backend when no addon is built.
 *
 * One softmax row (query token i, query head qh) is computed at a time into a [len] f64
 * scratch, so memory stays O(len + headDim) per call, never O(n × len). Each KV head is
 * decoded to f32 once per call into a [len][headDim] scratch reused across heads and read by
 * the query heads of its group (never a decoded copy of the whole layer).
 */
import type { AttendArgs, AttendResult } from './backend.js';
import { validateAttendArgs } from './attend-validate.js';
import { StatsAccumulator } from './stats-accumulator.js';
import { decodeToF32 } from '../util/half.js';
import { expandPrunedKeys, prunedKeyElements } from './pruned-keys.js';
import { untieredLayout } from './tier-layout.js';

/**
 * Softmax attention of one query row over one KV head.
 * q [headDim] at qOff; keys/values [len][headDim] f32; slotPositions [len]; writes the
 * probabilities into p [len] (0 on masked slots) and the output row into out at outOff
 * (zeros when no slot is visible). Returns the row's entropy in nats (0 when none visible).
 */
export function attendRow(
  q: Float32Array,
  qOff: number,
  qPos: number,
  keys: Float32Array,
  values: Float32Array,
  slotPositions: Int32Array,
  len: number,
  headDim: number,
  scale: number,
  p: Float64Array,
  out: Float32Array,
  outOff: number,
  acc: Float64Array,
): number {
  let max = -Infinity;
  for (let j = 0; j < len; j++) {
    if (slotPositions[j]! > qPos) {
      p[j] = Number.NaN; // marks masked; rewritten to 0 below
      continue;
    }
    const s = dot(q, qOff, keys, j * headDim, headDim) * scale;
    p[j] = s;
    if (s > max) max = s;
  }
  acc.fill(0, 0, headDim);
  if (max === -Infinity) {
    // No visible slot: zero output, zero probabilities, zero entropy.
    p.fill(0, 0, len);
    out.fill(0, outOff, outOff + headDim);
    return 0;
  }
  let sum = 0;
  for (let j = 0; j < len; j++) {
    const s = p[j]!;
    if (s !== s) {
      p[j] = 0;
      continue;
    }
    const e = Math.exp(s - max);
    p[j] = e;
    sum += e;
  }
  const inv = 1 / sum;
  let entropy = 0;
  for (let j = 0; j < len; j++) {
    const e = p[j]!;
    if (e === 0) continue;
    const pj = e * inv;
    p[j] = pj;
    entropy -= pj * Math.log(pj);
    const vo = j * headDim;
    for (let d = 0; d < headDim; d++) acc[d] += pj * values[vo + d]!;
  }
  for (let d = 0; d < headDim; d++) out[outOff + d] = acc[d]!;
  return entropy;
}

/** Dot product of a[ao..ao+n) and b[bo..bo+n) in f64 (four partial sums: ~1.3× faster in V8). */
function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, n: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    s0 += a[ao + i]! * b[bo + i]!;
    s1 += a[ao + i + 1]! * b[bo + i + 1]!;
    s2 += a[ao + i + 2]! * b[bo + i + 2]!;
    s3 += a[ao + i + 3]! * b[bo + i + 3]!;
  }
  for (; i < n; i++) s0 += a[ao + i]! * b[bo + i]!;
  return s0 + s1 + (s2 + s3);
}

/** Attention of n query tokens over a KV layout, with the statistics `args.needs` names. */
export function referenceAttend(given: AttendArgs): AttendResult {
  // A tiered layer (DRAM–flash) is read as the dense layer it stands for.
  const args = given.kv?.tier ? { ...given, kv: untieredLayout(given.kv) } : given;
  const { n, qHeads, kvHeads, headDim, capacity, group } = validateAttendArgs(args);
  const { kv, q, qPositions, scale } = args;
  const out = args.out ?? new Float32Array(n * qHeads * headDim);
  const acc = new StatsAccumulator(args.needs, kvHeads, group, qPositions, args.qModality);
  let maxLen = 0;
  for (let h = 0; h < kvHeads; h++) maxLen = Math.max(maxLen, kv.lengths[h]!);
  const keys = new Float32Array(maxLen * headDim);
  const values = new Float32Array(maxLen * headDim);
  const p = new Float64Array(maxLen);
  const rowAcc = new Float64Array(headDim);

  for (let h = 0; h < kvHeads; h++) {
    const len = kv.lengths[h]!;
    const base = h * capacity;
    if (kv.coded) {
      kv.coded.decodeHead('keys', h, keys);
      kv.coded.decodeHead('values', h, values);
    } else if (kv.prunedKeys) {
      // Pruned rows widen with zeros on the dropped channels: q·k is then q_S·k_S exactly.
      const packed = decodeToF32(kv.keys, kv.dtype, base * headDim, prunedKeyElements(kv.prunedKeys, h, len, headDim));
      expandPrunedKeys(kv.prunedKeys, h, packed, len, headDim, keys);
      decodeToF32(kv.values, kv.dtype, base * headDim, len * headDim, values);
    } else {
      decodeToF32(kv.keys, kv.dtype, base * headDim, len * headDim, keys);
      decodeToF32(kv.values, kv.dtype, base * headDim, len * headDim, values);
    }
    checkFinite(keys, len * headDim, 'keys', h, headDim);
    checkFinite(values, len * headDim, 'values', h, headDim);
    const slotPositions = kv.positions.subarray(base, base + len);
    acc.beginHead(len, slotPositions, kv.modality.subarray(base, base + len));
    for (let i = 0; i < n; i++) {
      const qPos = qPositions[i]!;
      for (let g = 0; g < group; g++) {
        const off = (i * qHeads + h * group + g) * headDim;
        const entropy = attendRow(q, off, qPos, keys, values, slotPositions, len, headDim, scale, p, out, off, rowAcc);
        acc.addRow(i, p, entropy);
      }
    }
    acc.endHead(h);
  }
  return { out, stats: acc.result() };
}

function checkFinite(x: Float32Array, count: number, what: string, h: number, headDim: number): void {
  for (let i = 0; i < count; i++) {
    if (!Number.isFinite(x[i]!)) {
      throw new RangeError(`attend: args.kv.${what}[${h}][${Math.floor(i / headDim)}][${i % headDim}] is ${x[i]}; cached K/V must be finite`);
    }
  }
}
