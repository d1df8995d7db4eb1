/**
 * A mixed-radix complex FFT for any length (Cooley–Tukey on the length's prime factors, plain
 * DFT for a prime remainder). Whisper's n_fft is 400 = 2⁴·5², which a radix-2 FFT cannot do.
 * One instance per length; it owns its twiddle table and scratch, so it is not reentrant.
 */
export class Fft {
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  /** Scratch per recursion depth: [re, im] of that depth's length. */
  private readonly scratch: Array<[Float64Array, Float64Array]> = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`Fft: size ${size} must be a positive integer`);
    this.cos = new Float64Array(size);
    this.sin = new Float64Array(size);
    for (let j = 0; j < size; j++) {
      this.cos[j] = Math.cos((2 * Math.PI * j) / size);
      this.sin[j] = -Math.sin((2 * Math.PI * j) / size);
    }
    let n = size;
    while (n > 1) {
      this.scratch.push([new Float64Array(n), new Float64Array(n)]);
      n /= smallestFactor(n);
    }
  }

  /** out = DFT(in): X[k] = Σ_j x[j]·e^(−2πi·jk/size). All arrays [size] f64; `in` and `out` must differ. */
  transform(inRe: Float64Array, inIm: Float64Array, outRe: Float64Array, outIm: Float64Array): void {
    this.step(inRe, inIm, 0, 1, this.size, outRe, outIm, 0, 0);
  }

  private step(inRe: Float64Array, inIm: Float64Array, inAt: number, stride: number, n: number, outRe: Float64Array, outIm: Float64Array, outAt: number, depth: number): void {
    const p = smallestFactor(n);
    const twStep = this.size / n; // W_n^j = W_size^(j * twStep)
    if (p === n) {
      for (let k = 0; k < n; k++) {
        let re = 0;
        let im = 0;
        for (let j = 0; j < n; j++) {
          const t = ((j * k) % n) * twStep;
          const xr = inRe[inAt + j * stride]!;
          const xi = inIm[inAt + j * stride]!;
          re += xr * this.cos[t]! - xi * this.sin[t]!;
          im += xr * this.sin[t]! + xi * this.cos[t]!;
        }
        outRe[outAt + k] = re;
        outIm[outAt + k] = im;
      }
      return;
    }
    const m = n / p;
    const [tRe, tIm] = this.scratch[depth]!;
    for (let r = 0; r < p; r++) this.step(inRe, inIm, inAt + r * stride, stride * p, m, tRe, tIm, r * m, depth + 1);
    // X[k + q·m] = Σ_r W_n^(r·(k + q·m)) · Y_r[k]
    for (let q = 0; q < p; q++) {
      for (let k = 0; k < m; k++) {
        const kk = k + q * m;
        let re = 0;
        let im = 0;
        for (let r = 0; r < p; r++) {
          const t = ((r * kk) % n) * twStep;
          const yr = tRe[r * m + k]!;
          const yi = tIm[r * m + k]!;
          re += yr * this.cos[t]! - yi * this.sin[t]!;
          im += yr * this.sin[t]! + yi * this.cos[t]!;
        }
        outRe[outAt + kk] = re;
        outIm[outAt + kk] = im;
      }
    }
  }
}

function smallestFactor(n: number): number {
  for (let p = 2; p * p <= n; p++) if (n % p === 0) return p;
  return n;
}
