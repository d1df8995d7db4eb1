/**
 * Rotary position embedding tables for rotate-half RoPE (the layout HF Llama/Qwen2 weights
 * use): inverse frequencies with the scalings configs ask for (linear, dynamic NTK, llama3),
 * and per-token cos/sin tables [n][rotaryDim/2] that ComputeBackend.rope consumes.
 *
 * Sectioned multimodal RoPE (Qwen2-VL `mrope_section`, e.g. [16, 24, 24]): each token has
 * three position ids (temporal, height, width); frequency i takes its angle from the id of
 * the section i falls in. Positions are given as [axes][n] (axes = 3 under mrope, else 1).
 */
export type RopeScaling =
  | { type: 'default' }
  | { type: 'linear'; factor: number }
  | { type: 'dynamic'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };

export interface RopeConfig {
  theta: number;
  headDim: number;
  /** Leading dims of each head that rotate (headDim unless partial_rotary_factor). */
  rotaryDim: number;
  maxPositions: number;
  scaling: RopeScaling;
  /** Frequencies per (temporal, height, width) section, summing to rotaryDim/2; null = 1-D RoPE. */
  mropeSection: number[] | null;
  /**
   * Under mrope, temporal position ids per second of span time (Qwen2.5-VL
   * `vision_config.tokens_per_second`, Qwen2.5-Omni `position_id_per_seconds`; default 1).
   */
  positionsPerSecond: number;
}

type RopeBase = Omit<RopeConfig, 'scaling' | 'mropeSection'>;

/** Parses HF `rope_scaling` (keys `type` or `rope_type`, plus `mrope_section`). */
export function parseRopeScaling(raw: Record<string, unknown> | null, base: RopeBase, file: string): RopeConfig {
  const where = `${file}: rope_scaling`;
  let mropeSection: number[] | null = null;
  if (raw && raw.mrope_section !== undefined) {
    const s = raw.mrope_section;
    if (!Array.isArray(s) || s.length !== 3 || !s.every((x) => Number.isInteger(x) && x >= 0)) {
      throw new Error(`${where}.mrope_section must be three whole numbers [t, h, w]; got ${JSON.stringify(s)}`);
    }
    const sum = (s as number[]).reduce((a, b) => a + b, 0);
    if (sum !== base.rotaryDim / 2) throw new Error(`${where}.mrope_section sums to ${sum}; expected rotary dim / 2 = ${base.rotaryDim / 2}`);
    mropeSection = s as number[];
  }
  const type = String(raw?.rope_type ?? raw?.type ?? 'default');
  const factor = (): number => {
    const f = raw?.factor;
    if (typeof f !== 'number' || !(f > 0)) throw new Error(`${where}.factor must be a number > 0 for type "${type}"; got ${JSON.stringify(f)}`);
    return f;
  };
  let scaling: RopeScaling;
  switch (type) {
    case 'default':
    case 'mrope':
      scaling = { type: 'default' };
      break;
    case 'linear':
      scaling = { type: 'linear', factor: factor() };
      break;
    case 'dynamic':
      scaling = { type: 'dynamic', factor: factor() };
      break;
    case 'llama3':
      scaling = {
        type: 'llama3',
        factor: factor(),
        lowFreqFactor: Number(raw?.low_freq_factor ?? 1),
        highFreqFactor: Number(raw?.high_freq_factor ?? 4),
        originalMaxPositions: Number(raw?.original_max_position_embeddings ?? 8192),
      };
      break;
    default:
      throw new Error(`${where}.type "${type}" is not supported; expected default, linear, dynamic, llama3 or mrope`);
  }
  return { ...base, scaling, mropeSection };
}

/**
 * Inverse frequencies [rotaryDim/2] for a sequence currently `seqLen` tokens long (only the
 * dynamic scaling depends on it, as in HF: the base grows once seqLen exceeds maxPositions).
 */
export function inverseFrequencies(rope: RopeConfig, seqLen: number, out: Float64Array = new Float64Array(rope.rotaryDim / 2)): Float64Array {
  const d = rope.rotaryDim;
  const s = rope.scaling;
  let theta = rope.theta;
  if (s.type === 'dynamic' && seqLen > rope.maxPositions) {
    theta *= ((s.factor * seqLen) / rope.maxPositions - (s.factor - 1)) ** (d / (d - 2));
  }
  for (let i = 0; i < d / 2; i++) {
    let f = 1 / theta ** ((2 * i) / d);
    if (s.type === 'linear') f /= s.factor;
    else if (s.type === 'llama3') f = llama3Frequency(f, s);
    out[i] = f;
  }
  return out;
}

function llama3Frequency(f: number, s: Extract<RopeScaling, { type: 'llama3' }>): number {
  const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositions / s.highFreqFactor;
  const wavelen = (2 * Math.PI) / f;
  if (wavelen < highWavelen) return f;
  if (wavelen > lowWavelen) return f / s.factor;
  const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
  return (1 - smooth) * (f / s.factor) + smooth * f;
}

/** Number of position axes a token carries under this config (3 under mrope, else 1). */
export function ropeAxes(rope: RopeConfig): number {
  return rope.mropeSection ? 3 : 1;
}

/**
 * Fills cos/sin [n][rotaryDim/2] for tokens whose positions are `pos` [axes][n] (axis stride n,
 * starting at `offset` within each axis row of length `stride`).
 */
export function fillRopeTables(
  rope: RopeConfig,
  invFreq: Float64Array,
  pos: Int32Array,
  stride: number,
  offset: number,
  n: number,
  cos: Float32Array,
  sin: Float32Array,
): void {
  const half = rope.rotaryDim / 2;
  const sec = rope.mropeSection;
  for (let t = 0; t < n; t++) {
    let axis = 0;
    let boundary = sec ? sec[0]! : half;
    for (let i = 0; i < half; i++) {
      while (sec && i >= boundary && axis < 2) boundary += sec[++axis]!;
      const angle = pos[axis * stride + offset + t]! * invFreq[i]!;
      cos[t * half + i] = Math.cos(angle);
      sin[t * half + i] = Math.sin(angle);
    }
  }
}
