/**
 * `cache.storage` as a sweep axis: the config may list several K/V storage types, and every
 * policy × budget × seed × protocol trial runs once per listed storage. A trial's cache names
 * one storage; its row records it as `storage` (a short label), and the report and `compare`
 * keep rows of different storage apart. Each storage prefills its own cache (the shared
 * prefill groups trials by their cache settings), so a quantized cache is quantized from its
 * first token, as an engine's would be.
 */
import { STORAGE_DEFAULTS, type KVStorage } from '../cache/storage-spec.js';
import type { ExperimentConfig } from './config-schema.js';

/** The cache settings of one trial: the config's, with one storage. */
export type TrialCache = Omit<ExperimentConfig['cache'], 'storage'> & { storage?: KVStorage };

/**
 * The storages a config sweeps, in the order written, repeats dropped — also a repeat spelled
 * differently (int4 and { kind: int4, group: 32 }) — (undefined: the dtype decides).
 */
export function storagesOf(cache: ExperimentConfig['cache']): (KVStorage | undefined)[] {
  const listed = Array.isArray(cache.storage) ? cache.storage : [cache.storage];
  const seen = new Set<string>();
  return listed.filter((s) => {
    const key = s === undefined ? '' : storageLabel(cacheWithStorage(cache, s));
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The trial's cache for one storage (no `storage` key when the dtype decides, as before the axis existed). */
export function cacheWithStorage(cache: ExperimentConfig['cache'], storage: KVStorage | undefined): TrialCache {
  const { storage: _listed, ...rest } = cache;
  return storage === undefined ? rest : { ...rest, storage };
}

/**
 * A storage as rows and tables name it: the kind, with G and R when they differ from the
 * defaults ("int4", "int4(R=0)", "int8-fp8(G=4)"); the dtype when no storage is given.
 */
export function storageLabel(cache: TrialCache): string {
  const s = cache.storage;
  if (s === undefined) return cache.dtype;
  if (typeof s === 'string') return s;
  const parts: string[] = [];
  if (s.group !== undefined && s.group !== STORAGE_DEFAULTS.group) parts.push(`G=${s.group}`);
  if (s.residual !== undefined && s.residual !== STORAGE_DEFAULTS.residual) parts.push(`R=${s.residual}`);
  return parts.length === 0 ? s.kind : `${s.kind}(${parts.join(',')})`;
}
