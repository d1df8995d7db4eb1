/**
 * Modalities of cached tokens. Codes are stable small integers because they are stored
 * per slot in a Uint8Array and cross the native boundary.
 */
export const MODALITIES = ['text', 'image', 'video', 'audio'] as const;
export type Modality = (typeof MODALITIES)[number];

/** Number of modality codes; statistics indexed by modality have this many entries. */
export const NUM_MODALITIES = MODALITIES.length;

export const ModalityCode = {
  text: 0,
  image: 1,
  video: 2,
  audio: 3,
} as const satisfies Record<Modality, number>;

export function modalityCode(m: Modality): number {
  return ModalityCode[m];
}

export function modalityName(code: number): Modality {
  const m = MODALITIES[code];
  if (m === undefined) throw new RangeError(`modality code ${code} is not one of 0..${NUM_MODALITIES - 1}`);
  return m;
}

export function isModality(x: unknown): x is Modality {
  return typeof x === 'string' && (MODALITIES as readonly string[]).includes(x);
}

/** Visual modalities (image and video patches) are grouped by several methods. */
export function isVisualCode(code: number): boolean {
  return code === ModalityCode.image || code === ModalityCode.video;
}
