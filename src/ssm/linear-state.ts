/**
 * One recurrent linear-attention state of RetentiveKV (arXiv 2605.04075): the memory of one
 * (layer, KV head, state kind). Holds Sᵀ: [headDim][headDim] (value dim × key feature, so a
 * readout is headDim contiguous dot products) and the
 * normaliser z: [headDim], both f32, plus two f64 scalars, so its size is constant in sequence
 * length.
 *
 *   decay(r):        S ← r·S,  z ← r·z                       (the paper's H_t ⊙ S_{t−1})
 *   write(φk, v, a): S ← S + a·φ(k)ᵀv,  z ← z + a·φ(k)         (the paper's A_t ⊙ k_tᵀv_t)
 *   read:            num = φ(q)·S,  den = φ(q)·z               (the readout is num / den)
 *
 * The logical state is scale·(stored S, stored z): a decay only multiplies `scale` (O(1)), and
 * the stored arrays absorb the scale when it falls below e^-20, so long decays never
 * underflow f32 while old and new writes keep their exact relative weights.
 */
const RESCALE_LIMIT = 20;

export class LinearState {
  /** Stored Sᵀ [headDim][headDim] f32: row = value dim j, column = key feature i. */
  readonly s: Float32Array;
  /** Stored [headDim] f32. */
  readonly z: Float32Array;
  /** log of the factor the stored arrays are multiplied by, and that factor. */
  private logScale = 0;
  private scale = 1;
  /** Number of slots written so far (diagnostics). */
  written = 0;

  constructor(readonly headDim: number) {
    this.s = new Float32Array(headDim * headDim);
    this.z = new Float32Array(headDim);
  }

  /** Bytes held: S and z (f32) and the two f64 scale fields. */
  get byteLength(): number {
    return this.s.byteLength + this.z.byteLength + 16;
  }

  get isEmpty(): boolean {
    return this.written === 0;
  }

  /** Multiplies the logical state by r ∈ (0, 1]. */
  decay(r: number): void {
    if (!(r > 0 && r <= 1)) throw new RangeError(`state decay must be in (0, 1]; got ${r}`);
    if (this.written === 0) return;
    this.logScale += Math.log(r);
    this.scale = Math.exp(this.logScale);
    if (this.logScale < -RESCALE_LIMIT) this.fold();
  }

  /** Writes one slot: phiK [headDim] f64 (already feature-mapped), v = values[vOff..vOff+d). */
  write(phiK: Float64Array, values: Float32Array, vOff: number, strength: number): void {
    if (strength === 0) return;
    const d = this.headDim;
    const st = this.s;
    const z = this.z;
    const a = strength / this.scale;
    for (let j = 0; j < d; j++) {
      const w = a * values[vOff + j]!;
      if (w === 0) continue;
      const row = j * d;
      for (let i = 0; i < d; i++) st[row + i]! += w * phiK[i]!;
    }
    for (let i = 0; i < d; i++) z[i]! += a * phiK[i]!;
    this.written++;
  }

  /** num[j] += Σ_i φq[i]·S[i][j] (logical S); returns φq·z (this state's denominator share). */
  readInto(phiQ: Float64Array, num: Float64Array): number {
    const d = this.headDim;
    const st = this.s;
    const z = this.z;
    let den = 0;
    for (let i = 0; i < d; i++) den += phiQ[i]! * z[i]!;
    for (let j = 0; j < d; j++) {
      const row = j * d;
      let acc = 0;
      for (let i = 0; i < d; i++) acc += phiQ[i]! * st[row + i]!;
      num[j]! += acc * this.scale;
    }
    return den * this.scale;
  }

  /** Deep copy (to continue several answers from one compressed prefix). */
  clone(): LinearState {
    const c = new LinearState(this.headDim);
    c.s.set(this.s);
    c.z.set(this.z);
    c.logScale = this.logScale;
    c.scale = this.scale;
    c.written = this.written;
    return c;
  }

  /** Moves the scale into the stored arrays (content decayed below e^-20 may flush to 0). */
  private fold(): void {
    const k = this.scale;
    for (let i = 0; i < this.s.length; i++) this.s[i]! *= k;
    for (let i = 0; i < this.z.length; i++) this.z[i]! *= k;
    this.logScale = 0;
    this.scale = 1;
  }
}
