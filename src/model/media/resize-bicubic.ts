/**
 * Bicubic resize of 8-bit RGB images with Pillow's numerics (`Image.resize(size, BICUBIC)`, the
 * resize HF's Qwen2VLImageProcessor applies): a separable convolution (horizontal pass, then
 * vertical), the a = -0.5 cubic kernel stretched by the scale when shrinking (antialiasing),
 * weights normalised per output pixel and quantised to 22-bit fixed point, rounding and
 * clamping to 0..255 after each pass. torchvision's antialiased bicubic on uint8 (qwen-vl-utils'
 * video resize) implements the same filter; its fixed-point precision may differ by one level.
 */

const PRECISION_BITS = 32 - 8 - 2;
const BICUBIC_SUPPORT = 2;

function bicubic(x: number): number {
  const a = -0.5;
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

/** Fixed-point weights of one axis: for output i, `count[i]` weights starting at input `first[i]`. */
interface AxisWeights {
  first: Int32Array;
  count: Int32Array;
  /** [outSize][taps] fixed-point weights. */
  weights: Int32Array;
  taps: number;
}

function axisWeights(inSize: number, outSize: number): AxisWeights {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = BICUBIC_SUPPORT * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * taps);
  const raw = new Float64Array(taps);
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), inSize);
    let total = 0;
    for (let x = 0; x < hi - lo; x++) {
      raw[x] = bicubic((x + lo - center + 0.5) / filterScale);
      total += raw[x]!;
    }
    for (let x = 0; x < hi - lo; x++) {
      const w = total !== 0 ? raw[x]! / total : raw[x]!;
      weights[i * taps + x] = Math.trunc(w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS));
    }
    first[i] = lo;
    count[i] = hi - lo;
  }
  return { first, count, weights, taps };
}

function clip8(acc: number): number {
  const v = acc >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Resizes `src`: [height][width][3] u8 (RGB, row-major) to [outHeight][outWidth][3] u8.
 * Returns `src` itself when the size does not change (Pillow copies it unchanged).
 */
export function resizeBicubicRgb(src: Uint8Array, width: number, height: number, outWidth: number, outHeight: number): Uint8Array {
  if (src.length !== width * height * 3) throw new Error(`resizeBicubicRgb: ${src.length} bytes is not ${width}x${height} RGB`);
  let img = src;
  let w = width;
  if (outWidth !== width) {
    const ax = axisWeights(width, outWidth);
    const out = new Uint8Array(outWidth * height * 3);
    for (let y = 0; y < height; y++) {
      const row = y * width * 3;
      for (let i = 0; i < outWidth; i++) {
        const k = i * ax.taps;
        const lo = ax.first[i]!;
        let r = 1 << (PRECISION_BITS - 1);
        let g = r;
        let b = r;
        for (let x = 0; x < ax.count[i]!; x++) {
          const wgt = ax.weights[k + x]!;
          const p = row + (lo + x) * 3;
          r += img[p]! * wgt;
          g += img[p + 1]! * wgt;
          b += img[p + 2]! * wgt;
        }
        const o = (y * outWidth + i) * 3;
        out[o] = clip8(r);
        out[o + 1] = clip8(g);
        out[o + 2] = clip8(b);
      }
    }
    img = out;
    w = outWidth;
  }
  if (outHeight !== height) {
    const ay = axisWeights(height, outHeight);
    const out = new Uint8Array(w * outHeight * 3);
    const rowBytes = w * 3;
    // Whole rows at a time (sequential memory); sums stay below 2^31 (|weights| sum < 1.3 · 2^22).
    const acc = new Int32Array(rowBytes);
    for (let j = 0; j < outHeight; j++) {
      const k = j * ay.taps;
      const lo = ay.first[j]!;
      acc.fill(1 << (PRECISION_BITS - 1));
      for (let y = 0; y < ay.count[j]!; y++) {
        const wgt = ay.weights[k + y]!;
        const row = (lo + y) * rowBytes;
        for (let c = 0; c < rowBytes; c++) acc[c] += img[row + c]! * wgt;
      }
      const o = j * rowBytes;
      for (let c = 0; c < rowBytes; c++) out[o + c] = clip8(acc[c]!);
    }
    img = out;
  }
  return img;
}
