/**
 * Reading one tower's tensors from a checkpoint: the tower states the tensors it needs (name
 * under its prefix → shape); every one is checked before any data is read (missing or
 * wrong-shape → an error naming the tensor, the expected and found shape and the file), and
 * tensors under the prefix that the tower does not know are an error too (a checkpoint
 * deeper than its config, say). Weights stay in their stored dtype.
 */
import type { LinearWeight } from '../../attention/backend.js';
import type { Checkpoint } from '../safetensors.js';
import { toF32, toLinear } from '../weights.js';

export interface TensorShapes {
  /** name (without the tower prefix) → shape. */
  required: Map<string, number[]>;
  /** Known tensors a checkpoint may carry that the forward does not use. */
  optional?: Set<string>;
}

export class TowerTensors {
  private constructor(
    private readonly ckpt: Checkpoint,
    readonly prefix: string,
  ) {}

  /** Validates names and shapes of every tensor under `prefix` against `shapes`. */
  static check(ckpt: Checkpoint, prefix: string, shapes: TensorShapes, where: string, tower: string): TowerTensors {
    for (const [name, shape] of shapes.required) {
      const full = prefix + name;
      if (!ckpt.has(full)) throw new Error(`${where}: ${tower} tensor "${full}" is missing (expected shape [${shape.join(', ')}])`);
      const e = ckpt.entry(full);
      if (e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i])) {
        throw new Error(`${e.file}: ${tower} tensor "${full}" has shape [${e.shape.join(', ')}]; expected [${shape.join(', ')}]`);
      }
    }
    for (const full of ckpt.names()) {
      if (!full.startsWith(prefix)) continue;
      const name = full.slice(prefix.length);
      if (shapes.required.has(name) || shapes.optional?.has(name) || name.endsWith('inv_freq')) continue;
      throw new Error(`${ckpt.entry(full).file}: unexpected ${tower} tensor "${full}" (not part of this tower's config)`);
    }
    return new TowerTensors(ckpt, prefix);
  }

  /** A weight [out][…] as a LinearWeight [out][product of the other dims] (convs become GEMMs). */
  linear(name: string): LinearWeight {
    const t = this.ckpt.read(this.prefix + name);
    const inFeatures = t.shape.slice(1).reduce((a, b) => a * b, 1);
    return { ...toLinear(t), inFeatures };
  }

  vector(name: string): Float32Array {
    return toF32(this.ckpt.read(this.prefix + name));
  }
}

/** Rows [from, from + rows) of a LinearWeight (a view: splits a fused qkv without copying). */
export function linearRows(w: LinearWeight, from: number, rows: number): LinearWeight {
  const k = w.inFeatures;
  return { dtype: w.dtype, data: w.data.subarray(from * k, (from + rows) * k), outFeatures: rows, inFeatures: k };
}
