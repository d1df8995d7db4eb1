/**
 * Keys pruned along head_dim (ThinK, arXiv 2407.21018): where each slot's key row lies when a
 * layer keeps only `keyDim` of its `headDim` key channels for its older slots.
 *
 * Layout of KV head h's key stripe (it still spans capacity·headDim elements, starting at
 * h·capacity·headDim): slots 0..split[h]−1 are packed rows of keyDim elements holding channels
 * channels[h][0..keyDim) (ascending), then slots split[h]..len−1 are full rows of headDim
 * elements (ThinK keeps its recent window and every key appended later unpruned). Values keep
 * all headDim channels. Attention scores a pruned slot as q_S · k_S over the kept channels S
 * (the dropped channels count as zero); the softmax scale is the caller's, unchanged.
 */

/** The pruned-key part of a KVLayout (absent when every key row is headDim wide). */
export interface PrunedKeyLayout {
  /** Kept key channels per head, d' (1 ≤ d' ≤ headDim), the same for every KV head of a layer. */
  keyDim: number;
  /** [kvHeads][keyDim] kept channel indices, strictly ascending within each head. */
  channels: Int32Array;
  /** [kvHeads] slots held pruned (the oldest ones); 0 ≤ split[h] ≤ lengths[h]. */
  split: Int32Array;
}

/** Element offset of slot `slot`'s key row in the keys buffer (see the header's layout). */
export function prunedKeyOffset(p: PrunedKeyLayout, h: number, slot: number, capacity: number, headDim: number): number {
  const split = p.split[h]!;
  const base = h * capacity * headDim;
  return slot < split ? base + slot * p.keyDim : base + split * p.keyDim + (slot - split) * headDim;
}

/** Key elements head h holds for `len` slots: split·keyDim + (len − split)·headDim. */
export function prunedKeyElements(p: PrunedKeyLayout, h: number, len: number, headDim: number): number {
  const split = p.split[h]!;
  return split * p.keyDim + (len - split) * headDim;
}

/**
 * Expands head h's `len` key rows into dst [len][headDim] f32 (dropped channels 0): `packed`
 * holds the head's prunedKeyElements(...) elements from its stripe start, already f32.
 */
export function expandPrunedKeys(p: PrunedKeyLayout, h: number, packed: Float32Array, len: number, headDim: number, dst: Float32Array): Float32Array {
  const split = Math.min(p.split[h]!, len);
  const kd = p.keyDim;
  const ch = p.channels.subarray(h * kd, (h + 1) * kd);
  dst.fill(0, 0, split * headDim);
  for (let j = 0; j < split; j++) {
    const src = j * kd;
    const row = j * headDim;
    for (let c = 0; c < kd; c++) dst[row + ch[c]!] = packed[src + c]!;
  }
  const tail = split * kd;
  dst.set(packed.subarray(tail, tail + (len - split) * headDim), split * headDim);
  return dst;
}

/**
 * A whole-row copy [kvHeads][capacity][headDim] of a pruned keys buffer (same element type;
 * dropped channels of packed rows are 0, whose raw bits are +0 in f32, f16 and bf16 alike):
 * for kernels that read whole key rows only (CUDA), at the cost of the bytes pruning saved.
 */
export function widenPrunedKeys<T extends Float32Array | Uint16Array>(p: PrunedKeyLayout, keys: T, kvHeads: number, capacity: number, headDim: number, lengths: Int32Array): T {
  const out = new (keys.constructor as new (n: number) => T)(kvHeads * capacity * headDim);
  const kd = p.keyDim;
  for (let h = 0; h < kvHeads; h++) {
    const base = h * capacity * headDim;
    const split = p.split[h]!;
    const ch = p.channels.subarray(h * kd, (h + 1) * kd);
    for (let j = 0; j < split; j++) for (let c = 0; c < kd; c++) out[base + j * headDim + ch[c]!] = keys[base + j * kd + c]!;
    const tail = base + split * kd;
    out.set(keys.subarray(tail, tail + (lengths[h]! - split) * headDim), base + split * headDim);
  }
  return out;
}

/**
 * Checks a PrunedKeyLayout against its layer (kvHeads, headDim, lengths); `err` throws with the
 * field named. Used by validateKVLayout, so the reference and the native binding agree.
 */
export function checkPrunedKeys(p: PrunedKeyLayout, kvHeads: number, headDim: number, lengths: Int32Array, err: (m: string) => never): void {
  if (!p || typeof p !== 'object') err(`prunedKeys must be { keyDim, channels, split }`);
  if (!Number.isInteger(p.keyDim) || p.keyDim < 1 || p.keyDim > headDim) err(`prunedKeys.keyDim must be an integer in [1, headDim = ${headDim}]; got ${p.keyDim}`);
  if (!(p.channels instanceof Int32Array) || p.channels.length !== kvHeads * p.keyDim) {
    err(`prunedKeys.channels must be an Int32Array [kvHeads][keyDim] = ${kvHeads}×${p.keyDim}; got ${p.channels?.length ?? 'none'}`);
  }
  if (!(p.split instanceof Int32Array) || p.split.length !== kvHeads) err(`prunedKeys.split must be an Int32Array of kvHeads = ${kvHeads} entries; got ${p.split?.length ?? 'none'}`);
  for (let h = 0; h < kvHeads; h++) {
    let prev = -1;
    for (let c = 0; c < p.keyDim; c++) {
      const x = p.channels[h * p.keyDim + c]!;
      if (x <= prev || x >= headDim) err(`prunedKeys.channels[${h}][${c}] = ${x}; channels must be strictly ascending in [0, headDim = ${headDim})`);
      prev = x;
    }
    const s = p.split[h]!;
    if (s < 0 || s > lengths[h]!) err(`prunedKeys.split[${h}] = ${s} is outside [0, lengths[${h}] = ${lengths[h]}]`);
  }
}
