/** Wall-clock accounting kept by a CacheSession (milliseconds). */
export interface AttentionBackendStats {
  attentionMs: number;
  compressionMs: number;
  compressions: number;
}
