/** Key-space similarity helpers (cosine over rows of a [len][headDim] f32 matrix). */

/** L2 norm of every row: rows [len][headDim] f32 → [len] f32. */
export function rowNorms(rows: Float32Array, headDim: number): Float32Array {
  const len = Math.floor(rows.length / headDim);
  const out = new Float32Array(len);
  for (let i = 0; i < len; i++) {
    let s = 0;
    const o = i * headDim;
    for (let d = 0; d < headDim; d++) s += rows[o + d]! * rows[o + d]!;
    out[i] = Math.sqrt(s);
  }
  return out;
}

/** Cosine of rows a and b (0 when either has zero norm). `norms` from rowNorms, optional. */
export function cosineAt(rows: Float32Array, headDim: number, a: number, b: number, norms?: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  const oa = a * headDim;
  const ob = b * headDim;
  for (let d = 0; d < headDim; d++) {
    const x = rows[oa + d]!;
    const y = rows[ob + d]!;
    dot += x * y;
    if (!norms) {
      na += x * x;
      nb += y * y;
    }
  }
  const den = norms ? norms[a]! * norms[b]! : Math.sqrt(na * nb);
  return den > 0 ? dot / den : 0;
}

/** Cosine of each slot with its successor: [len-1], entry i = cos(k[i], k[i+1]). */
export function adjacentCosine(keys: Float32Array, headDim: number, len: number): Float32Array {
  const norms = rowNorms(keys.subarray(0, len * headDim), headDim);
  const out = new Float32Array(Math.max(0, len - 1));
  for (let i = 0; i + 1 < len; i++) out[i] = cosineAt(keys, headDim, i, i + 1, norms);
  return out;
}

/** Rows `slots` of keys scaled to unit length, packed f64 [slots.length][headDim] (zero rows stay 0). */
export function unitRows(keys: Float32Array, headDim: number, slots: ArrayLike<number>, norms: Float32Array): Float64Array {
  const out = new Float64Array(slots.length * headDim);
  for (let c = 0; c < slots.length; c++) {
    const s = slots[c]!;
    const inv = norms[s]! > 0 ? 1 / norms[s]! : 0;
    const o = s * headDim;
    const w = c * headDim;
    for (let j = 0; j < headDim; j++) out[w + j] = keys[o + j]! * inv;
  }
  return out;
}

/**
 * For each slot from[i], the candidate slot of maximal key cosine (ties → the earlier
 * candidate in `candidates`). keys: [len][headDim] f32. With no candidates, target is -1 and
 * similarity -Infinity. `norms` (rowNorms of keys) may be passed to avoid recomputing them.
 * Cost: |from|·|candidates|·headDim multiply-adds over packed f64 unit rows, four candidates
 * per pass so each query element is loaded once per block (≈3× faster than pairwise calls).
 */
export function cosineNearest(
  keys: Float32Array,
  headDim: number,
  from: ArrayLike<number>,
  candidates: ArrayLike<number>,
  norms: Float32Array = rowNorms(keys, headDim),
): { target: Int32Array; similarity: Float32Array } {
  const d = headDim;
  const nc = candidates.length;
  const target = new Int32Array(from.length).fill(-1);
  const similarity = new Float32Array(from.length).fill(-Infinity);
  if (nc === 0) return { target, similarity };
  const C = unitRows(keys, d, candidates, norms);
  const q = new Float64Array(d);
  for (let i = 0; i < from.length; i++) {
    const s = from[i]!;
    const inv = norms[s]! > 0 ? 1 / norms[s]! : 0;
    for (let j = 0; j < d; j++) q[j] = keys[s * d + j]! * inv;
    let best = -Infinity;
    let bc = -1;
    let c = 0;
    for (; c + 4 <= nc; c += 4) {
      const o0 = c * d;
      const o1 = o0 + d;
      const o2 = o1 + d;
      const o3 = o2 + d;
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      for (let j = 0; j < d; j++) {
        const x = q[j]!;
        a0 += x * C[o0 + j]!;
        a1 += x * C[o1 + j]!;
        a2 += x * C[o2 + j]!;
        a3 += x * C[o3 + j]!;
      }
      if (a0 > best) (best = a0), (bc = c);
      if (a1 > best) (best = a1), (bc = c + 1);
      if (a2 > best) (best = a2), (bc = c + 2);
      if (a3 > best) (best = a3), (bc = c + 3);
    }
    for (; c < nc; c++) {
      const o = c * d;
      let a = 0;
      for (let j = 0; j < d; j++) a += q[j]! * C[o + j]!;
      if (a > best) (best = a), (bc = c);
    }
    // A zero query row has cosine 0 with everything: it still goes to the first candidate.
    target[i] = candidates[bc === -1 ? 0 : bc]!;
    similarity[i] = best === -Infinity ? 0 : best;
  }
  return { target, similarity };
}

/**
 * Mean pairwise cosine of the rows (self-pairs included) = ‖Σ k̂_i‖² / n², computed in
 * O(n·d): MixKV's head redundancy. keys: [len][headDim] f32. 0 for an empty set.
 */
export function meanPairwiseCosine(keys: Float32Array, headDim: number, len: number): number {
  if (len === 0) return 0;
  const norms = rowNorms(keys.subarray(0, len * headDim), headDim);
  const sum = new Float64Array(headDim);
  for (let i = 0; i < len; i++) {
    const inv = norms[i]! > 0 ? 1 / norms[i]! : 0;
    for (let d = 0; d < headDim; d++) sum[d] += keys[i * headDim + d]! * inv;
  }
  let sq = 0;
  for (let d = 0; d < headDim; d++) sq += sum[d]! * sum[d]!;
  return sq / (len * len);
}
