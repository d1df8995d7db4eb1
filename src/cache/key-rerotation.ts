/**
 * Key rerotation (kvpress KeyRerotationPress; SinkCache and FINCH do the same): after the
 * prefill's eviction, each kept key is turned from its RoPE position p_old to p_new, its rank
 * among its head's kept slots, so the kept keys sit at contiguous positions 0..k−1:
 *   K' = R(p_new − p_old)·K   (rotate-half RoPE: pair (c, c + r/2) turns by Δ·θ_c)
 * This is exact, because RoPE rotations compose (R(a)·R(b) = R(a + b)) and the rotation
 * depends only on the position. Only the leading rotaryDim dims of a head rotate (partial
 * rotary); the rest are left as they are.
 */

/** What a policy hands the session so it re-rotates kept keys (PolicyInstance.rerotateKeys). */
export interface KeyRerotation {
  /** Leading dims of each head that rotate, in rotate-half pairs (c, c + rotaryDim/2). */
  rotaryDim: number;
  /** Inverse frequencies [rotaryDim/2] (radians per position) of a sequence seqLen tokens long. */
  inverseFrequencies(seqLen: number): Float64Array;
}

/**
 * Rotates one key row [headDim] f32 in place by `delta` positions: for c < rotaryDim/2,
 * (x_c, x_{c+r/2}) ← (x_c·cos − x_{c+r/2}·sin, x_{c+r/2}·cos + x_c·sin), angle delta·invFreq[c].
 */
export function rotateKeyRow(row: Float32Array, rotaryDim: number, invFreq: ArrayLike<number>, delta: number): void {
  const half = rotaryDim / 2;
  for (let c = 0; c < half; c++) {
    const angle = delta * invFreq[c]!;
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    const a = row[c]!;
    const b = row[c + half]!;
    row[c] = a * cos - b * sin;
    row[c + half] = b * cos + a * sin;
  }
}

/** Checks a rerotation fits a cache of this head size; throws naming the field. */
export function checkKeyRerotation(r: KeyRerotation, headDim: number, invFreq: Float64Array, where: string): void {
  if (!Number.isInteger(r.rotaryDim) || r.rotaryDim < 2 || r.rotaryDim % 2 !== 0 || r.rotaryDim > headDim) {
    throw new RangeError(`${where}: rotaryDim must be an even whole number in [2, headDim = ${headDim}]; got ${r.rotaryDim}`);
  }
  if (invFreq.length !== r.rotaryDim / 2 || !invFreq.every(Number.isFinite)) {
    throw new RangeError(`${where}: inverseFrequencies must give rotaryDim/2 = ${r.rotaryDim / 2} finite numbers; got ${invFreq.length}`);
  }
}

/**
 * The frequencies to rotate by for a prompt `promptLength` tokens long; refuses RoPE whose
 * frequencies change with the length (dynamic NTK past its trained length), since keys
 * computed in different chunks would then not share one rotation.
 */
export function rerotationFrequencies(r: KeyRerotation, headDim: number, promptLength: number, where: string): Float64Array {
  const invFreq = r.inverseFrequencies(Math.max(1, promptLength));
  checkKeyRerotation(r, headDim, invFreq, where);
  const short = r.inverseFrequencies(1);
  if (short.some((f, c) => f !== invFreq[c])) {
    throw new Error(`${where}: the RoPE frequencies depend on the sequence length here (dynamic scaling past the trained length), so re-rotated keys would not be exact; key rerotation supports fixed-frequency RoPE (default, linear, llama3)`);
  }
  return invFreq;
}
