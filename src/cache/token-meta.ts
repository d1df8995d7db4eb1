/**
 * Per-token metadata, struct-of-arrays. One `TokenMeta` describes a run of tokens (a
 * prompt, a span, or the slots of one KV head); every array has the same length.
 *
 * - position: original token index in the sequence (RoPE was applied with it), int32
 * - modality: ModalityCode per token, uint8
 * - segment:  which image / clip / utterance the token belongs to (-1 = none), int32
 * - time:     seconds (frame or audio timestamp); NaN when the token has none, f32
 * - row, col: grid coordinates of a visual patch; -1 when not a patch, int16
 * - weight:   how many original tokens this slot stands for (1 until merged), f32
 */
export interface TokenMeta {
  position: Int32Array;
  modality: Uint8Array;
  segment: Int32Array;
  time: Float32Array;
  row: Int16Array;
  col: Int16Array;
  weight: Float32Array;
}

export const TOKEN_META_FIELDS = ['position', 'modality', 'segment', 'time', 'row', 'col', 'weight'] as const;

/** Bytes of metadata per slot (sum of the element sizes above). */
export const TOKEN_META_BYTES_PER_SLOT = 4 + 1 + 4 + 4 + 2 + 2 + 4;

export function allocTokenMeta(n: number): TokenMeta {
  const meta: TokenMeta = {
    position: new Int32Array(n),
    modality: new Uint8Array(n),
    segment: new Int32Array(n).fill(-1),
    time: new Float32Array(n).fill(Number.NaN),
    row: new Int16Array(n).fill(-1),
    col: new Int16Array(n).fill(-1),
    weight: new Float32Array(n).fill(1),
  };
  return meta;
}

/** Metadata for n plain text tokens at positions start..start+n-1. */
export function textMeta(n: number, start = 0): TokenMeta {
  const meta = allocTokenMeta(n);
  for (let i = 0; i < n; i++) meta.position[i] = start + i;
  return meta;
}

export function tokenMetaLength(meta: TokenMeta): number {
  return meta.position.length;
}

/** Checks that every field has the same length; throws naming the field otherwise. */
export function validateTokenMeta(meta: TokenMeta, where = 'meta'): number {
  const n = meta.position.length;
  for (const f of TOKEN_META_FIELDS) {
    if (meta[f].length !== n) {
      throw new RangeError(`${where}.${f} has length ${meta[f].length}; expected ${n} (the length of ${where}.position)`);
    }
  }
  return n;
}

/** Concatenates metadata runs in order. */
export function concatTokenMeta(parts: readonly TokenMeta[]): TokenMeta {
  const n = parts.reduce((s, p) => s + p.position.length, 0);
  const out = allocTokenMeta(n);
  let off = 0;
  for (const p of parts) {
    for (const f of TOKEN_META_FIELDS) (out[f] as { set(a: ArrayLike<number>, o: number): void }).set(p[f], off);
    off += p.position.length;
  }
  return out;
}

/** Copies a sub-range [start, end) of a metadata run (new arrays). */
export function sliceTokenMeta(meta: TokenMeta, start: number, end: number): TokenMeta {
  return {
    position: meta.position.slice(start, end),
    modality: meta.modality.slice(start, end),
    segment: meta.segment.slice(start, end),
    time: meta.time.slice(start, end),
    row: meta.row.slice(start, end),
    col: meta.col.slice(start, end),
    weight: meta.weight.slice(start, end),
  };
}
