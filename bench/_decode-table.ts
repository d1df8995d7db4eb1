/**
 * The decode bench's summary table: per weight dtype, depth and K/V storage, kvprism's full and
 * SnapKV rows, and llama.cpp's full-cache row per weight dtype and depth, each with its bytes
 * read per token and its fraction of the byte limit at the bandwidth measured around it, and
 * its speed ÷ its own full cache (same storage) and ÷ llama.cpp's at that depth.
 */
import type { ModelConfig } from '../src/model/config.js';
import { fmtBytes } from '../src/model/describe.js';
import { byteLimitFraction, weightBytesPerToken } from './_byte-limit.js';
import type { DecodePolicy, WeightDType } from './_decode-flags.js';
import { fmt, ratio } from './_timing.js';

export interface DecodeRow {
  engine: 'kvprism' | 'llama.cpp';
  config: ModelConfig;
  dtype: WeightDType;
  context: number;
  /** K/V storage: our cache's kind (f32, int8-fp8, int4 …), or llama.cpp's K/V type. */
  storage: string;
  policy: DecodePolicy;
  budget: number;
  backendName: string;
  prefillTokS: number;
  decodeTokS: number;
  /** Exact K/V bytes the decode attends over (the cache after prefill: codes + scales + dense residual). */
  kvBytes: number;
  peakRssBytes: number;
  /** Read bandwidth around this row (GB/s); undefined without the native addon. */
  gbPerS: number | undefined;
}

/** Bytes one decode step of `r` reads: weight matrices in the row's dtype plus the K/V it attends. */
export function bytesPerToken(r: DecodeRow): number {
  return weightBytesPerToken(r.config, r.dtype === 'f32' ? 4 : 2) + r.kvBytes;
}

/** `a ÷ b` as "1.23×", or "–" when there is no row to divide by. */
function times(a: DecodeRow, b: DecodeRow | undefined): string {
  return b ? `${fmt(ratio(a.decodeTokS, b.decodeTokS), 2)}×` : '–';
}

export function printDecodeTable(rows: DecodeRow[]): void {
  console.log('\n| weights | context | engine | storage | cache | prefill tok/s | decode tok/s | vs full | vs llama.cpp | KV bytes | bytes / token | read GB/s | of byte limit | peak RSS |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const sameDepth = (x: DecodeRow): boolean => x.dtype === r.dtype && x.context === r.context && x.policy === 'full';
    const full = rows.find((x) => sameDepth(x) && x.engine === r.engine && x.storage === r.storage);
    const llama = rows.find((x) => sameDepth(x) && x.engine === 'llama.cpp');
    const bytes = bytesPerToken(r);
    const limit = r.gbPerS !== undefined ? `${fmt(byteLimitFraction(r.decodeTokS, bytes, r.gbPerS), 2)}` : '–';
    console.log(
      `| ${r.dtype} | ${r.context} | ${r.engine} | ${r.storage} | ${r.policy === 'full' ? 'full' : `SnapKV ${r.budget * 100}%`} | ${fmt(r.prefillTokS, 1)} | ${fmt(r.decodeTokS, 2)} | ` +
        `${times(r, full)} | ${times(r, llama)} | ${fmtBytes(r.kvBytes)} | ${fmtBytes(bytes)} | ` +
        `${r.gbPerS !== undefined ? fmt(r.gbPerS, 1) : '–'} | ${limit} | ${fmtBytes(r.peakRssBytes)} |`,
    );
  }
  console.log(
    '\nvs full: decode tok/s ÷ the same engine\'s full cache at the same weights, depth and storage (– when --cases left it out). ' +
      'vs llama.cpp: decode tok/s ÷ llama.cpp\'s full-cache decode at the same weights and depth, measured in this run (same GGUF weights, prompt ids, threads; its K/V type per --llama-cpp-kv, default F32). ' +
      'KV bytes: the exact bytes the cache holds after prefill (codes + scales + f32 residual for int8-fp8 / int4 / int2). ' +
      'of byte limit: decode tok/s × bytes / token ÷ read GB/s (native read-only sweep on the decode\'s threads, mean of the sweeps before and after the row\'s child process).',
  );
}
