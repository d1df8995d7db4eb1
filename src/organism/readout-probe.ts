/**
 * Readout probe (training only): a linear map from one attention head's output at the answer
 * rows to the vocabulary, trained with cross-entropy on the answer. Its gradient reaches that
 * head's value projection directly, so the head learns to carry the attribute the answer
 * needs (a colour, a shape) out of the evidence tokens it attends to, instead of waiting
 * for the signal to come back through o_proj, the MLP and the LM head.
 */
export interface ProbeRows {
  /** Batch rows (b·n + i) of the answer positions. */
  rows: number[];
  labels: number[];
  /** The head read at each row (its question family's answer head); one probe matrix serves all. */
  heads: number[];
}

export interface ProbeResult {
  loss: number;
  accuracy: number;
}

/**
 * o: the layer's attention output [B·n][H][d]; W: probe [V][d]; row i reads head p.heads[i]. Adds weight·∂(mean CE)/∂o
 * into dO (same layout) and ∂/∂W into dW.
 */
export function readoutProbe(o: Float32Array, H: number, d: number, W: Float32Array, V: number, p: ProbeRows, weight: number, dO: Float32Array, dW: Float32Array): ProbeResult {
  const n = p.rows.length;
  if (n === 0) return { loss: 0, accuracy: 0 };
  let loss = 0;
  let correct = 0;
  const logits = new Float64Array(V);
  for (let i = 0; i < n; i++) {
    const head = p.heads[i]!;
    if (!(Number.isInteger(head) && head >= 0 && head < H)) throw new RangeError(`readout probe: head ${head} of row ${p.rows[i]} is outside 0..${H - 1}`);
    const off = (p.rows[i]! * H + head) * d;
    let mx = -Infinity;
    let arg = 0;
    for (let v = 0; v < V; v++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += W[v * d + c]! * o[off + c]!;
      logits[v] = s;
      if (s > mx) {
        mx = s;
        arg = v;
      }
    }
    let z = 0;
    for (let v = 0; v < V; v++) z += (logits[v] = Math.exp(logits[v]! - mx));
    const label = p.labels[i]!;
    loss += -Math.log(Math.max(logits[label]! / z, 1e-30));
    if (arg === label) correct++;
    for (let v = 0; v < V; v++) {
      const g = (weight / n) * (logits[v]! / z - (v === label ? 1 : 0));
      for (let c = 0; c < d; c++) {
        dW[v * d + c] += g * o[off + c]!;
        dO[off + c] += g * W[v * d + c]!;
      }
    }
  }
  return { loss: loss / n, accuracy: correct / n };
}
