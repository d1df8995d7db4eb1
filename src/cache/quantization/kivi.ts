/**
 * KIVI — "KIVI: A Tuning-Free Asymmetric 2bit Quantization for KV Cache" (Liu et al., ICML
 * 2024, arXiv 2402.02750). Keys are quantized per channel (min/max over a group of G tokens
 * for each channel), values per token (min/max over G channels of one token), asymmetric
 * integer codes of 2 or 4 bits; the most recent tokens stay in full precision as a residual.
 * Ours: the residual holds between R and R + G − 1 tokens (the oldest whole groups of G are
 * quantized once R are exceeded); scales and minima are f32; codes are bit-packed; 8 bits is
 * allowed for comparison. This is the codec of one KV head with exact byte accounting; using
 * as the cache's storage (`int4` / `int2`) goes through the same primitives (kiviCode,
 * kiviPutCode, kiviGetCode) in src/cache/kivi-head.ts.
 */
export interface KiviOptions {
  bits: 2 | 4 | 8;
  /** G: tokens per key group and channels per value group (KIVI: 32). */
  group: number;
  /** R: most recent tokens kept in full precision (KIVI: 128). */
  residual: number;
}

export const KIVI_DEFAULTS: KiviOptions = { bits: 2, group: 32, residual: 128 };

/** One KV head, quantized. Codes are packed little-endian within each byte. */
export interface KiviHead {
  len: number;
  headDim: number;
  opts: KiviOptions;
  /** Quantized tokens (a multiple of G), the oldest ones. */
  quantized: number;
  /** Key codes [quantized][headDim]; scale/min per (token group, channel): [quantized/G][headDim]. */
  keyCodes: Uint8Array;
  keyScale: Float32Array;
  keyMin: Float32Array;
  /** Value codes [quantized][headDim]; scale/min per (token, channel group): [quantized][⌈headDim/G⌉]. */
  valueCodes: Uint8Array;
  valueScale: Float32Array;
  valueMin: Float32Array;
  /** The residual tokens in f32: [len − quantized][headDim]. */
  residualKeys: Float32Array;
  residualValues: Float32Array;
}

function check(o: KiviOptions, headDim: number): void {
  if (o.bits !== 2 && o.bits !== 4 && o.bits !== 8) throw new RangeError(`kivi: bits must be 2, 4 or 8; got ${o.bits}`);
  if (!Number.isInteger(o.group) || o.group < 1) throw new RangeError(`kivi: group must be a whole number ≥ 1; got ${o.group}`);
  if (!Number.isInteger(o.residual) || o.residual < 0) throw new RangeError(`kivi: residual must be a whole number ≥ 0; got ${o.residual}`);
  if (!Number.isInteger(headDim) || headDim < 1) throw new RangeError(`kivi: headDim must be a whole number ≥ 1; got ${headDim}`);
}

/** Tokens that get quantized out of len: whole groups of G beyond the residual R. */
export function kiviQuantizedTokens(len: number, o: KiviOptions): number {
  return Math.floor(Math.max(0, len - o.residual) / o.group) * o.group;
}

/** Stores code q at element i of a packed array (clears the old bits first). */
export function kiviPutCode(codes: Uint8Array, i: number, bits: number, q: number): void {
  const per = 8 / bits;
  const at = Math.floor(i / per);
  const shift = (i % per) * bits;
  codes[at] = (codes[at]! & ~(((1 << bits) - 1) << shift)) | (q << shift);
}

/** The code at element i of a packed array. */
export function kiviGetCode(codes: Uint8Array, i: number, bits: number): number {
  const per = 8 / bits;
  return (codes[Math.floor(i / per)]! >> ((i % per) * bits)) & ((1 << bits) - 1);
}

/** Asymmetric scale of a group spanning [lo, hi] with 2^bits − 1 steps (0 when flat). */
export function kiviScale(lo: number, hi: number, bits: number): number {
  return hi > lo ? (hi - lo) / ((1 << bits) - 1) : 0;
}

/** The nearest code of x in a group with this scale and minimum (clamped to the code range). */
export function kiviCode(x: number, scale: number, min: number, bits: number): number {
  return scale > 0 ? Math.min((1 << bits) - 1, Math.max(0, Math.round((x - min) / scale))) : 0;
}

/** [min, max] of x[start + k·stride] for k in 0..count-1 (the range one quantization group spans). */
export function groupRange(x: Float32Array, start: number, count: number, stride = 1): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let k = 0, i = start; k < count; k++, i += stride) {
    const v = x[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/**
 * Quantizes the elements idx(k) for k in 0..n-1 of x as one asymmetric group: writes codes at
 * code index codeAt(k) and returns [scale, min].
 */
function quantizeGroup(x: Float32Array, n: number, idx: (k: number) => number, codeAt: (k: number) => number, codes: Uint8Array, bits: number): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let k = 0; k < n; k++) {
    const v = x[idx(k)]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const scale = kiviScale(lo, hi, bits);
  for (let k = 0; k < n; k++) kiviPutCode(codes, codeAt(k), bits, kiviCode(x[idx(k)]!, scale, lo, bits));
  return [scale, lo];
}

/** keys, values: [len][headDim] f32 of one KV head (token order, oldest first). */
export function kiviQuantize(keys: Float32Array, values: Float32Array, len: number, headDim: number, opts: KiviOptions = KIVI_DEFAULTS): KiviHead {
  check(opts, headDim);
  if (keys.length < len * headDim || values.length < len * headDim) throw new RangeError(`kivi: keys and values must hold len × headDim = ${len * headDim} floats`);
  const { bits, group: G } = opts;
  const nq = kiviQuantizedTokens(len, opts);
  const d = headDim;
  const codeBytes = Math.ceil((nq * d * bits) / 8);
  const keyCodes = new Uint8Array(codeBytes);
  const valueCodes = new Uint8Array(codeBytes);
  const keyScale = new Float32Array((nq / G) * d);
  const keyMin = new Float32Array((nq / G) * d);
  const vGroups = Math.ceil(d / G);
  const valueScale = new Float32Array(nq * vGroups);
  const valueMin = new Float32Array(nq * vGroups);
  for (let g = 0; g < nq / G; g++) {
    for (let c = 0; c < d; c++) {
      const at = (k: number) => (g * G + k) * d + c;
      [keyScale[g * d + c], keyMin[g * d + c]] = quantizeGroup(keys, G, at, at, keyCodes, bits);
    }
  }
  for (let t = 0; t < nq; t++) {
    for (let vg = 0; vg < vGroups; vg++) {
      const n = Math.min(G, d - vg * G);
      const at = (k: number) => t * d + vg * G + k;
      [valueScale[t * vGroups + vg], valueMin[t * vGroups + vg]] = quantizeGroup(values, n, at, at, valueCodes, bits);
    }
  }
  return {
    len, headDim, opts, quantized: nq, keyCodes, keyScale, keyMin, valueCodes, valueScale, valueMin,
    residualKeys: keys.slice(nq * d, len * d),
    residualValues: values.slice(nq * d, len * d),
  };
}

/** Back to f32 [len][headDim] keys and values. */
export function kiviDequantize(q: KiviHead): { keys: Float32Array; values: Float32Array } {
  const { len, headDim: d, quantized: nq } = q;
  const { bits, group: G } = q.opts;
  const keys = new Float32Array(len * d);
  const values = new Float32Array(len * d);
  const vGroups = Math.ceil(d / G);
  for (let t = 0; t < nq; t++) {
    const g = Math.floor(t / G);
    for (let c = 0; c < d; c++) {
      const i = t * d + c;
      keys[i] = q.keyMin[g * d + c]! + q.keyScale[g * d + c]! * kiviGetCode(q.keyCodes, i, bits);
      const vg = Math.floor(c / G);
      values[i] = q.valueMin[t * vGroups + vg]! + q.valueScale[t * vGroups + vg]! * kiviGetCode(q.valueCodes, i, bits);
    }
  }
  keys.set(q.residualKeys, nq * d);
  values.set(q.residualValues, nq * d);
  return { keys, values };
}

/** Exact bytes held: packed codes + f32 scales and minima + the f32 residual. */
export function kiviBytes(q: KiviHead): number {
  return [q.keyCodes, q.keyScale, q.keyMin, q.valueCodes, q.valueScale, q.valueMin, q.residualKeys, q.residualValues].reduce((s, a) => s + a.byteLength, 0);
}
