/**
 * Checks a plan's key-channel pruning (ThinK; policy-api.ts KeyChannelPlan) against its layer
 * before anything is touched, and turns it into the cache's layout: kept channels flat
 * [kvHeads][keyDim] and the pruned slots per head (all but the `recent` newest after the plan).
 */
import type { KeyChannelPlan } from './policy-api.js';
import type { StorageSpec } from './storage-spec.js';

export interface KeyPruneLayer {
  layer: number;
  kvHeads: number;
  headDim: number;
  storage: StorageSpec;
  /** Whether the layer's keys were pruned already. */
  pruned: boolean;
  /** [kvHeads] slots each head holds once the plan's slot part is applied. */
  lengthsAfter: Int32Array;
}

export interface KeyPrune {
  keyDim: number;
  /** [kvHeads][keyDim] */
  channels: Int32Array;
  /** [kvHeads] oldest slots whose keys are packed. */
  split: Int32Array;
}

export function resolveKeyPrune(kc: KeyChannelPlan, c: KeyPruneLayer): KeyPrune {
  const fail = (m: string): never => {
    throw new RangeError(`plan for layer ${c.layer}: keyChannels${m}`);
  };
  if (c.storage.quantized) {
    throw new Error(
      `plan for layer ${c.layer}: key-channel pruning (ThinK) needs dense keys, but storage is "${c.storage.kind}" (codes); set the storage option to f32, f16 or bf16, or drop think`,
    );
  }
  if (c.pruned) fail(`: this layer's keys are already pruned; ThinK prunes once per layer`);
  if (!kc || typeof kc !== 'object' || !Array.isArray(kc.channels)) fail(` must be { channels: Int32Array[] (one per KV head), recent }`);
  if (kc.channels.length !== c.kvHeads) fail(`.channels has ${kc.channels.length} entries; expected one per KV head (${c.kvHeads})`);
  if (!Number.isInteger(kc.recent) || kc.recent < 0) fail(`.recent must be an integer ≥ 0; got ${String(kc.recent)}`);
  const keyDim = kc.channels[0]?.length ?? 0;
  if (keyDim < 1) fail(`.channels[0] must keep at least one channel`);
  const channels = new Int32Array(c.kvHeads * keyDim);
  kc.channels.forEach((ch, h) => {
    if (!(ch instanceof Int32Array)) fail(`.channels[${h}] must be an Int32Array of channel indices`);
    if (ch.length !== keyDim) fail(`.channels[${h}] keeps ${ch.length} channels; every KV head of a layer keeps the same count (${keyDim})`);
    let prev = -1;
    for (let i = 0; i < keyDim; i++) {
      const x = ch[i]!;
      if (!Number.isInteger(x) || x <= prev || x >= c.headDim) fail(`.channels[${h}][${i}] = ${x}; channels must be strictly ascending in [0, headDim = ${c.headDim})`);
      prev = x;
    }
    channels.set(ch, h * keyDim);
  });
  const split = c.lengthsAfter.map((len) => Math.max(0, len - kc.recent));
  return { keyDim, channels, split };
}
