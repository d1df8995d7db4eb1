/** Random attention problems for the native-vs-reference tests (seeded, reproducible). */
import type { AttendArgs, KVDType } from '../../src/attention/backend.js';
import type { StatNeeds } from '../../src/attention/stats.js';
import { allocKV, encodeFromF32 } from '../../src/util/half.js';
import { mulberry32 } from '../../src/util/random.js';

export interface Problem {
  kvHeads: number;
  group: number;
  headDim: number;
  capacity: number;
  lengths: number[];
  n: number;
  dtype: KVDType;
  decode: boolean;
  needs: StatNeeds;
  /** Modality codes in runs of this many slots (as media spans lie in a cache); default: random per slot. */
  modalityRuns?: number;
}

/** Builds AttendArgs for a problem: K/V, q in [-1.5, 1.5]; positions ascending with gaps. */
export function buildArgs(p: Problem, seed: number): AttendArgs {
  const rand = mulberry32(seed);
  const u = (lo: number, hi: number): number => lo + (hi - lo) * rand();
  const { kvHeads, headDim, capacity, dtype } = p;
  const qHeads = kvHeads * p.group;
  const elems = kvHeads * capacity * headDim;
  const kf = Float32Array.from({ length: elems }, () => u(-1, 1));
  const vf = Float32Array.from({ length: elems }, () => u(-1, 1));
  const keys = allocKV(dtype, elems);
  const values = allocKV(dtype, elems);
  encodeFromF32(kf, dtype, keys, 0);
  encodeFromF32(vf, dtype, values, 0);
  const positions = new Int32Array(kvHeads * capacity);
  const modality = new Uint8Array(kvHeads * capacity);
  let maxPos = 0;
  for (let h = 0; h < kvHeads; h++) {
    let pos = Math.floor(rand() * 3);
    for (let j = 0; j < capacity; j++) {
      positions[h * capacity + j] = pos;
      const code = Math.floor(rand() * 4);
      modality[h * capacity + j] = p.modalityRuns ? Math.floor(j / p.modalityRuns) % 4 : code;
      if (j < p.lengths[h]!) maxPos = Math.max(maxPos, pos);
      pos += 1 + Math.floor(rand() * 3);
    }
  }
  const q = Float32Array.from({ length: p.n * qHeads * headDim }, () => u(-1.5, 1.5));
  const qPositions = new Int32Array(p.n);
  const qModality = new Uint8Array(p.n);
  for (let i = 0; i < p.n; i++) {
    // Decode: after the whole cache. Prefill: a causal staircase through it.
    qPositions[i] = p.decode ? maxPos + 1 + i : Math.round(((maxPos + 2) * (i + 1)) / p.n) - 1;
    qModality[i] = Math.floor(rand() * 4);
  }
  return {
    q,
    n: p.n,
    qHeads,
    qPositions,
    qModality,
    kv: { kvHeads, headDim, capacity, dtype, keys, values, lengths: Int32Array.from(p.lengths), positions, modality },
    scale: 1 / Math.sqrt(headDim),
    needs: p.needs,
  };
}

/** max |a−b| / (atol + rtol·|b|) over two arrays; ≤ 1 means within tolerance. */
export function worstRatio(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol: number): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (atol + rtol * Math.abs(b[i]!)));
  return worst;
}

/** The ISAs this CPU can run, found by asking the addon to switch to each (best last). */
export function availableIsas(setIsa: (isa: string) => void): string[] {
  return ['scalar', 'avx2', 'avx512', 'neon'].filter((isa) => {
    try {
      setIsa(isa);
      return true;
    } catch {
      return false;
    }
  });
}
