/**
 * Attention supervision: a loss −log Σ_{j∈E} P(i→j) that asks one head, at chosen rows i, to
 * put its attention on evidence tokens E, and its gradient w.r.t. that head's queries and
 * keys. A `uniform` row instead asks for attention spread evenly over E (cross-entropy to the
 * uniform distribution on E, −mean_{j∈E} log P(i→j)): counting reads how much of the head's
 * attention the sink keeps against n matches, 1/(n+1), and the mass loss alone does not pin
 * that ratio (all attention on the sink satisfies it as well as any split). The AV world knows
 * by construction which tokens answer a question, so this trains the retrieval a pretrained
 * AV-LLM already has, instead of waiting for it to emerge.
 * q and k are the attention inputs after RoPE (q already scaled), [B·n][H][d].
 */
export interface SupervisedRow {
  /** Batch row b·n + i of the query. */
  row: number;
  /** Batch rows b·n + j (j ≤ i) whose attention mass is the target. */
  evidence: number[];
  /** Ask for attention spread evenly over the evidence, not just for its total mass. */
  uniform?: boolean;
}

export interface AttentionSupervisionResult {
  /** Mean loss over the rows: −log(evidence mass), or the cross-entropy to uniform on E. */
  loss: number;
  /** Mean evidence mass over the rows (1 = all attention on the evidence). */
  mass: number;
}

/**
 * Adds weight·∂(mean loss)/∂q and /∂k of head `head` into dq and dk ([B·n][H][d], w.r.t.
 * the scaled, rotated q and the rotated, GQA-expanded k).
 */
export function superviseAttention(q: Float32Array, k: Float32Array, n: number, H: number, d: number, head: number, rows: readonly SupervisedRow[], weight: number, dq: Float32Array, dk: Float32Array): AttentionSupervisionResult {
  if (rows.length === 0) return { loss: 0, mass: 0 };
  let loss = 0;
  let massSum = 0;
  const w = weight / rows.length;
  for (const { row, evidence, uniform } of rows) {
    const start = row - (row % n);
    const len = row - start + 1;
    const qo = (row * H + head) * d;
    const s = new Float64Array(len);
    let mx = -Infinity;
    for (let j = 0; j < len; j++) {
      const ko = ((start + j) * H + head) * d;
      let dot = 0;
      for (let c = 0; c < d; c++) dot += q[qo + c]! * k[ko + c]!;
      s[j] = dot;
      if (dot > mx) mx = dot;
    }
    let z = 0;
    for (let j = 0; j < len; j++) z += (s[j] = Math.exp(s[j]! - mx));
    for (let j = 0; j < len; j++) s[j]! /= z;
    const inE = new Uint8Array(len);
    for (const e of evidence) {
      if (e < start || e > row) throw new RangeError(`attention supervision: evidence row ${e} is outside the causal window [${start}, ${row}] of row ${row}`);
      inE[e - start] = 1;
    }
    let mass = 0;
    let inCount = 0;
    for (let j = 0; j < len; j++) {
      if (!inE[j]) continue;
      mass += s[j]!;
      inCount++;
    }
    massSum += mass;
    // Mass: d(−log mass)/d logit_j = P_j − [j∈E]·P_j / mass. Uniform: d(−mean_E log P)/d logit_j = P_j − [j∈E] / |E|.
    let target: (j: number) => number;
    if (uniform) {
      for (let j = 0; j < len; j++) if (inE[j]) loss += -Math.log(Math.max(s[j]!, 1e-30)) / inCount;
      target = (j) => (inE[j] ? 1 / inCount : 0);
    } else {
      const m = Math.max(mass, 1e-30);
      loss += -Math.log(m);
      target = (j) => (inE[j] ? s[j]! / m : 0);
    }
    for (let j = 0; j < len; j++) {
      const g = w * (s[j]! - target(j));
      if (g === 0) continue;
      const ko = ((start + j) * H + head) * d;
      for (let c = 0; c < d; c++) {
        dq[qo + c] += g * k[ko + c]!;
        dk[ko + c] += g * q[qo + c]!;
      }
    }
  }
  return { loss: loss / rows.length, mass: massSum / rows.length };
}
