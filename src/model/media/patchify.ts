/**
 * Resized RGB frames → the flattened patches a Qwen2-VL-family vision tower embeds, in the
 * exact order of HF Qwen2VLImageProcessor's flatten_patches: rows ordered (t, h / merge,
 * w / merge, merge row, merge col), each row ordered (channel, temporal, patch row, patch col).
 * Rescale and normalisation use HF's float32 arithmetic (x * scale → f32, then (x - mean) / std
 * in f32), so values match the Python processor bit for bit.
 */

export interface PatchLayout {
  patchSize: number;
  temporalPatchSize: number;
  mergeSize: number;
}

export interface PixelNormalization {
  doRescale: boolean;
  rescaleFactor: number;
  doNormalize: boolean;
  /** [3] per RGB channel. */
  imageMean: readonly number[];
  imageStd: readonly number[];
}

export interface Patches {
  /** [t * h * w][3 * temporalPatch * patch * patch] f32. */
  pixelValues: Float32Array;
  grid: { t: number; h: number; w: number };
  patchDim: number;
}

/** [3][256] f32: the normalised value of each 8-bit level per channel. */
function levelTable(n: PixelNormalization): Float32Array[] {
  return [0, 1, 2].map((c) => {
    const table = new Float32Array(256);
    const mean = Math.fround(n.imageMean[c]!);
    const std = Math.fround(n.imageStd[c]!);
    for (let v = 0; v < 256; v++) {
      let x = n.doRescale ? Math.fround(v * n.rescaleFactor) : v;
      if (n.doNormalize) x = Math.fround(Math.fround(x - mean) / std);
      table[v] = x;
    }
    return table;
  });
}

/**
 * frames: [n][height][width][3] u8 RGB, all of one size, height and width multiples of
 * patchSize * mergeSize. A count that is not a multiple of temporalPatchSize is padded by
 * repeating the last frame (an image becomes temporalPatchSize identical frames), as HF does.
 */
export function patchify(frames: readonly Uint8Array[], height: number, width: number, layout: PatchLayout, norm: PixelNormalization): Patches {
  const { patchSize: ps, temporalPatchSize: tps, mergeSize: m } = layout;
  const factor = ps * m;
  if (frames.length === 0) throw new Error('patchify: no frames');
  if (height % factor !== 0 || width % factor !== 0) throw new Error(`patchify: ${width}x${height} is not a multiple of ${factor}`);
  for (const f of frames) if (f.length !== height * width * 3) throw new Error(`patchify: a frame of ${f.length} bytes is not ${width}x${height} RGB`);
  const padded = [...frames];
  while (padded.length % tps !== 0) padded.push(padded[padded.length - 1]!);

  const gridT = padded.length / tps;
  const gridH = height / ps;
  const gridW = width / ps;
  const patchDim = 3 * tps * ps * ps;
  const out = new Float32Array(gridT * gridH * gridW * patchDim);
  const table = levelTable(norm);
  let o = 0;
  for (let t = 0; t < gridT; t++) {
    for (let bh = 0; bh < gridH / m; bh++) {
      for (let bw = 0; bw < gridW / m; bw++) {
        for (let mh = 0; mh < m; mh++) {
          for (let mw = 0; mw < m; mw++) {
            const y0 = (bh * m + mh) * ps;
            const x0 = (bw * m + mw) * ps;
            for (let c = 0; c < 3; c++) {
              const lut = table[c]!;
              for (let tp = 0; tp < tps; tp++) {
                const frame = padded[t * tps + tp]!;
                for (let py = 0; py < ps; py++) {
                  let p = ((y0 + py) * width + x0) * 3 + c;
                  for (let px = 0; px < ps; px++, p += 3) out[o++] = lut[frame[p]!]!;
                }
              }
            }
          }
        }
      }
    }
  }
  return { pixelValues: out, grid: { t: gridT, h: gridH, w: gridW }, patchDim };
}
