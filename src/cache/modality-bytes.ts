/**
 * K/V bytes held per modality: what a compressed cache spends on text, image, video and
 * audio. Counts the slots each KV head of each layer holds, by their modality, at the cache's
 * storage size per slot (keys + values), so the numbers add up to CacheBytes.kvBytes.
 */
import { MODALITIES, type Modality } from './modality.js';
import type { CacheSession } from './cache-session.js';

export type ModalityBytes = Record<Modality, { slots: number; kvBytes: number }>;

export function kvBytesByModality(session: CacheSession): ModalityBytes {
  const out = Object.fromEntries(MODALITIES.map((m) => [m, { slots: 0, kvBytes: 0 }])) as ModalityBytes;
  const slotsByCode = new Float64Array(MODALITIES.length);
  for (let l = 0; l < session.options.numLayers; l++) {
    const cache = session.layer(l);
    const total = cache.bytes();
    let slots = 0;
    slotsByCode.fill(0);
    for (let h = 0; h < cache.kvHeads; h++) {
      const codes = cache.headMeta(h).modality;
      for (let i = 0; i < codes.length; i++) slotsByCode[codes[i]!]!++;
      slots += codes.length;
    }
    if (slots === 0) continue;
    const perSlot = total.kvBytes / slots;
    MODALITIES.forEach((m, code) => {
      out[m].slots += slotsByCode[code]!;
      out[m].kvBytes += slotsByCode[code]! * perSlot;
    });
  }
  return out;
}
