/**
 * Independent plain references of the towers for tests: f64 loops over the checkpoint's own
 * tensors, written from transformers' modeling code (modeling_qwen2_vl, modeling_qwen2_5_vl,
 * modeling_qwen2_5_omni) step by step — padded index tensors, masks, argsort — and sharing no
 * code with src/model/towers.
 */
import { Checkpoint } from '../../../src/model/safetensors.js';
import { decodeToF32 } from '../../../src/util/half.js';

type Mat = Float64Array[]; // rows

export interface Grid { t: number; h: number; w: number }

/** Reads every tensor under `prefix` as f64 (bf16/f16 decoded). */
export function readTower(dir: string, prefix: string): Map<string, { shape: number[]; data: Float64Array }> {
  const ck = Checkpoint.open(dir);
  const out = new Map<string, { shape: number[]; data: Float64Array }>();
  try {
    for (const name of ck.names()) {
      if (!name.startsWith(prefix)) continue;
      const t = ck.read(name);
      const f = t.dtype === 'F32' ? (t.data as Float32Array) : decodeToF32(t.data, t.dtype === 'F16' ? 'f16' : 'bf16', 0, t.data.length);
      out.set(name.slice(prefix.length), { shape: t.shape, data: Float64Array.from(f) });
    }
  } finally {
    ck.close();
  }
  return out;
}

type Tensors = ReturnType<typeof readTower>;

function get(w: Tensors, name: string): Float64Array {
  const t = w.get(name);
  if (!t) throw new Error(`reference: no tensor ${name}`);
  return t.data;
}

/** y = x Wᵀ + b; W [out][in] flat. */
function dense(x: Mat, W: Float64Array, b?: Float64Array): Mat {
  const inF = x[0]!.length;
  const outF = W.length / inF;
  return x.map((r) => {
    const y = new Float64Array(outF);
    for (let o = 0; o < outF; o++) {
      let s = b ? b[o]! : 0;
      for (let i = 0; i < inF; i++) s += W[o * inF + i]! * r[i]!;
      y[o] = s;
    }
    return y;
  });
}

function mapRows(x: Mat, f: (v: number) => number): Mat {
  return x.map((r) => r.map(f));
}

function add(a: Mat, b: Mat): Mat {
  return a.map((r, i) => r.map((v, j) => v + b[i]![j]!));
}

function rms(x: Mat, w: Float64Array, eps: number): Mat {
  return x.map((r) => {
    const ms = r.reduce((s, v) => s + v * v, 0) / r.length;
    return r.map((v, i) => (v / Math.sqrt(ms + eps)) * w[i]!);
  });
}

function ln(x: Mat, w: Float64Array, b: Float64Array, eps: number): Mat {
  return x.map((r) => {
    const mu = r.reduce((s, v) => s + v, 0) / r.length;
    const va = r.reduce((s, v) => s + (v - mu) ** 2, 0) / r.length;
    return r.map((v, i) => ((v - mu) / Math.sqrt(va + eps)) * w[i]! + b[i]!);
  });
}

/** erf by its Maclaurin series (|x| ≤ 5), ±1 beyond: a different method from the library's. */
function erfSeries(x: number): number {
  if (Math.abs(x) > 5) return Math.sign(x);
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

const gelu = (v: number): number => 0.5 * v * (1 + erfSeries(v / Math.SQRT2));
const silu = (v: number): number => v / (1 + Math.exp(-v));
const quickGelu = (v: number): number => v / (1 + Math.exp(-1.702 * v));

/** softmax(q kᵀ · scale) v per head, over the rows of each [start, end) block only. */
function blockAttention(q: Mat, k: Mat, v: Mat, heads: number, cu: number[]): Mat {
  const hd = q[0]!.length / heads;
  const out: Mat = q.map(() => new Float64Array(heads * hd));
  for (let s = 0; s + 1 < cu.length; s++) {
    for (let i = cu[s]!; i < cu[s + 1]!; i++) {
      for (let h = 0; h < heads; h++) {
        const logits: number[] = [];
        for (let j = cu[s]!; j < cu[s + 1]!; j++) {
          let d = 0;
          for (let e = 0; e < hd; e++) d += q[i]![h * hd + e]! * k[j]![h * hd + e]!;
          logits.push(d / Math.sqrt(hd));
        }
        const mx = Math.max(...logits);
        const p = logits.map((l) => Math.exp(l - mx));
        const z = p.reduce((a, b) => a + b, 0);
        for (let e = 0; e < hd; e++) {
          let acc = 0;
          for (let j = 0; j < p.length; j++) acc += (p[j]! / z) * v[cu[s]! + j]![h * hd + e]!;
          out[i]![h * hd + e] = acc;
        }
      }
    }
  }
  return out;
}

/** rotate_half rotary with per-row angle table θ [n][hd/2] (cos/sin of cat(θ, θ)). */
function rotary(x: Mat, theta: Mat, heads: number): Mat {
  const hd = x[0]!.length / heads;
  const half = hd / 2;
  return x.map((r, i) => {
    const y = new Float64Array(r.length);
    for (let h = 0; h < heads; h++) {
      for (let e = 0; e < hd; e++) {
        const ang = theta[i]![e % half]!;
        const rot = e < half ? -r[h * hd + e + half]! : r[h * hd + e - half]!;
        y[h * hd + e] = r[h * hd + e]! * Math.cos(ang) + rot * Math.sin(ang);
      }
    }
    return y;
  });
}

export interface VisionRefConfig {
  variant: 'qwen2_vl' | 'qwen2_5_vl' | 'qwen2_5_omni';
  depth: number;
  heads: number;
  merge: number;
  patchSize: number;
  windowSize?: number;
  fullatt?: number[];
}

/** transformers' rot_pos_emb: (hpos, wpos) per patch via the reshape/permute of index grids. */
function rotPosIds(grids: Grid[], m: number): [number, number][] {
  const ids: [number, number][] = [];
  for (const { t, h, w } of grids) {
    const frame: [number, number][] = [];
    // hpos[r][c] = r, wpos[r][c] = c, reshaped (h/m, m, w/m, m) then permuted (0, 2, 1, 3).
    for (let a = 0; a < h / m; a++) for (let b = 0; b < w / m; b++) for (let c = 0; c < m; c++) for (let d = 0; d < m; d++) frame.push([a * m + c, b * m + d]);
    for (let k = 0; k < t; k++) ids.push(...frame);
  }
  return ids;
}

/** transformers' get_window_index with its −100 padding, reshape, permute and filtering. */
function windowIndex(grids: Grid[], m: number, ws: number): { index: number[]; cu: number[] } {
  const index: number[] = [];
  const cu = [0];
  let base = 0;
  for (const { t, h, w } of grids) {
    const lh = h / m;
    const lw = w / m;
    const padH = ws - (lh % ws);
    const padW = ws - (lw % ws);
    const nh = (lh + padH) / ws;
    const nw = (lw + padW) / ws;
    const padded = (tt: number, r: number, c: number): number => (r < lh && c < lw ? tt * lh * lw + r * lw + c : -100);
    for (let tt = 0; tt < t; tt++) {
      for (let wi = 0; wi < nh; wi++) {
        for (let wj = 0; wj < nw; wj++) {
          let count = 0;
          for (let r = 0; r < ws; r++) {
            for (let c = 0; c < ws; c++) {
              const v = padded(tt, wi * ws + r, wj * ws + c);
              if (v !== -100) {
                index.push(v + base);
                count++;
              }
            }
          }
          cu.push(cu[cu.length - 1]! + count * m * m);
        }
      }
    }
    base += t * lh * lw;
  }
  const unique = cu.filter((v, i) => i === 0 || v !== cu[i - 1]); // unique_consecutive
  return { index, cu: unique };
}

/** The whole vision tower; pixels [n][C·tp·p·p]; returns merged tokens [n/m²][out]. */
export function visionReference(w: Tensors, c: VisionRefConfig, pixels: Float32Array, grids: Grid[]): Mat {
  const patchW = get(w, 'patch_embed.proj.weight');
  const D = w.get('patch_embed.proj.weight')!.shape[0]!;
  const rowLen = patchW.length / D;
  const n = pixels.length / rowLen;
  let x: Mat = dense(Array.from({ length: n }, (_, i) => Float64Array.from(pixels.subarray(i * rowLen, (i + 1) * rowLen))), patchW);
  const hd = D / c.heads;
  const dim = hd / 2;
  const invFreq = Array.from({ length: dim / 2 }, (_, j) => 1 / Math.pow(10000, (2 * j) / dim));
  let theta: Mat = rotPosIds(grids, c.merge).map(([hp, wp]) => Float64Array.from([...invFreq.map((f) => hp * f), ...invFreq.map((f) => wp * f)]));
  const frameCu = [0];
  for (const g of grids) for (let k = 0; k < g.t; k++) frameCu.push(frameCu[frameCu.length - 1]! + g.h * g.w);
  const unit = c.merge * c.merge;
  let win: { index: number[]; cu: number[] } | undefined;
  if (c.windowSize) {
    win = windowIndex(grids, c.merge, c.windowSize / c.merge / c.patchSize);
    const reorder = (rows: Mat): Mat => win!.index.flatMap((u) => rows.slice(u * unit, (u + 1) * unit));
    x = reorder(x);
    theta = reorder(theta);
  }
  const layerNormed = (rows: Mat, name: string): Mat =>
    c.variant === 'qwen2_vl' ? ln(rows, get(w, `${name}.weight`), get(w, `${name}.bias`), 1e-6) : rms(rows, get(w, `${name}.weight`), 1e-6);
  for (let b = 0; b < c.depth; b++) {
    const B = `blocks.${b}.`;
    const hN = layerNormed(x, `${B}norm1`);
    let q: Mat, k: Mat, v: Mat;
    if (c.variant === 'qwen2_5_omni') {
      [q, k, v] = ['q', 'k', 'v'].map((p) => dense(hN, get(w, `${B}attn.${p}.weight`), get(w, `${B}attn.${p}.bias`))) as [Mat, Mat, Mat];
    } else {
      const qkv = dense(hN, get(w, `${B}attn.qkv.weight`), get(w, `${B}attn.qkv.bias`)); // reshape(seq, 3, heads, hd)
      [q, k, v] = [0, 1, 2].map((s) => qkv.map((r) => r.slice(s * D, (s + 1) * D))) as [Mat, Mat, Mat];
    }
    const cu = win && !(c.fullatt ?? []).includes(b) ? win.cu : frameCu;
    const att = blockAttention(rotary(q, theta, c.heads), rotary(k, theta, c.heads), v, c.heads, cu);
    x = add(x, dense(att, get(w, `${B}attn.proj.weight`), get(w, `${B}attn.proj.bias`)));
    const h2 = layerNormed(x, `${B}norm2`);
    let mlp: Mat;
    if (c.variant === 'qwen2_vl') {
      mlp = dense(mapRows(dense(h2, get(w, `${B}mlp.fc1.weight`), get(w, `${B}mlp.fc1.bias`)), quickGelu), get(w, `${B}mlp.fc2.weight`), get(w, `${B}mlp.fc2.bias`));
    } else {
      const g = mapRows(dense(h2, get(w, `${B}mlp.gate_proj.weight`), get(w, `${B}mlp.gate_proj.bias`)), silu);
      const u = dense(h2, get(w, `${B}mlp.up_proj.weight`), get(w, `${B}mlp.up_proj.bias`));
      mlp = dense(g.map((r, i) => r.map((val, j) => val * u[i]![j]!)), get(w, `${B}mlp.down_proj.weight`), get(w, `${B}mlp.down_proj.bias`));
    }
    x = add(x, mlp);
  }
  const normed = layerNormed(x, 'merger.ln_q');
  const grouped: Mat = [];
  for (let i = 0; i < n / unit; i++) grouped.push(Float64Array.from(normed.slice(i * unit, (i + 1) * unit).flatMap((r) => [...r])));
  const merged = dense(mapRows(dense(grouped, get(w, 'merger.mlp.0.weight'), get(w, 'merger.mlp.0.bias')), gelu), get(w, 'merger.mlp.2.weight'), get(w, 'merger.mlp.2.bias'));
  if (!win) return merged;
  const reverse = win.index.map((_, i) => i).sort((a, b) => win!.index[a]! - win!.index[b]!); // argsort
  return reverse.map((i) => merged[i]!);
}

export interface AudioRefConfig {
  layers: number;
  heads: number;
  nWindow: number;
}

/** Conv1d over [ch][len] with kernel 3, padding 1; W [out][in][3]. */
function conv(x: Mat, W: Float64Array, b: Float64Array, stride: number): Mat {
  const inCh = x.length;
  const len = x[0]!.length;
  const outCh = b.length;
  const outLen = Math.floor((len + 2 - 3) / stride) + 1;
  const y: Mat = Array.from({ length: outCh }, () => new Float64Array(outLen));
  for (let o = 0; o < outCh; o++) {
    for (let j = 0; j < outLen; j++) {
      let s = b[o]!;
      for (let i = 0; i < inCh; i++) {
        for (let kk = 0; kk < 3; kk++) {
          const t = j * stride + kk - 1;
          if (t >= 0 && t < len) s += W[(o * inCh + i) * 3 + kk]! * x[i]![t]!;
        }
      }
      y[o]![j] = s;
    }
  }
  return y;
}

/** The Omni audio encoder on features [mel][frames] (first `valid` frames), the padded-batch way. */
export function audioReference(w: Tensors, c: AudioRefConfig, features: Float32Array, frames: number, valid: number): Mat {
  const mel = features.length / frames;
  const chunk = 2 * c.nWindow;
  const lens: number[] = [];
  for (let s = 0; s < valid; s += chunk) lens.push(Math.min(chunk, valid - s));
  const maxLen = Math.max(...lens);
  const d = get(w, 'conv1.bias').length;
  const pos = (t: number, j: number): number => {
    const half = d / 2;
    const inc = Math.log(10000) / (half - 1);
    return j < half ? Math.sin(t * Math.exp(-inc * j)) : Math.cos(t * Math.exp(-inc * (j - half)));
  };
  const rows: Mat = [];
  const cu = [0];
  let start = 0;
  for (const len of lens) {
    // padded_feature [mel][maxLen], zero beyond the chunk; conv1 → gelu → × mask; conv2 → gelu.
    const padded: Mat = Array.from({ length: mel }, (_, f) => Float64Array.from({ length: maxLen }, (_, t) => (t < len ? features[f * frames + start + t]! : 0)));
    const h1 = mapRows(conv(padded, get(w, 'conv1.weight'), get(w, 'conv1.bias'), 1), gelu).map((r) => r.map((v, t) => (t < len ? v : 0)));
    const h2 = mapRows(conv(h1, get(w, 'conv2.weight'), get(w, 'conv2.bias'), 2), gelu);
    const keep = Math.floor((len - 1) / 2) + 1;
    for (let t = 0; t < keep; t++) rows.push(Float64Array.from({ length: d }, (_, j) => h2[j]![t]! + pos(t, j)));
    cu.push(cu[cu.length - 1]! + keep);
    start += len;
  }
  let x = rows;
  for (let l = 0; l < c.layers; l++) {
    const L = `layers.${l}.`;
    const h = ln(x, get(w, `${L}self_attn_layer_norm.weight`), get(w, `${L}self_attn_layer_norm.bias`), 1e-5);
    const q = dense(h, get(w, `${L}self_attn.q_proj.weight`), get(w, `${L}self_attn.q_proj.bias`));
    const k = dense(h, get(w, `${L}self_attn.k_proj.weight`));
    const v = dense(h, get(w, `${L}self_attn.v_proj.weight`), get(w, `${L}self_attn.v_proj.bias`));
    x = add(x, dense(blockAttention(q, k, v, c.heads, cu), get(w, `${L}self_attn.out_proj.weight`), get(w, `${L}self_attn.out_proj.bias`)));
    const h2 = ln(x, get(w, `${L}final_layer_norm.weight`), get(w, `${L}final_layer_norm.bias`), 1e-5);
    x = add(x, dense(mapRows(dense(h2, get(w, `${L}fc1.weight`), get(w, `${L}fc1.bias`)), gelu), get(w, `${L}fc2.weight`), get(w, `${L}fc2.bias`)));
  }
  const pooled: Mat = [];
  for (let i = 0; i + 1 < x.length; i += 2) pooled.push(x[i]!.map((v, j) => (v + x[i + 1]![j]!) / 2));
  return dense(ln(pooled, get(w, 'ln_post.weight'), get(w, 'ln_post.bias'), 1e-5), get(w, 'proj.weight'), get(w, 'proj.bias'));
}

/** Largest |a − b| over all elements, and the largest |b| (for a relative bound). */
export function compare(a: Float32Array, b: Mat): { maxDiff: number; scale: number } {
  const cols = b[0]!.length;
  if (a.length !== b.length * cols) throw new Error(`compare: ${a.length} elements vs reference ${b.length}×${cols}`);
  let maxDiff = 0;
  let scale = 0;
  b.forEach((r, i) => r.forEach((v, j) => {
    maxDiff = Math.max(maxDiff, Math.abs(a[i * cols + j]! - v));
    scale = Math.max(scale, Math.abs(v));
  }));
  return { maxDiff, scale };
}
