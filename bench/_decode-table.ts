/**
 * The decode bench's summary table: per weight dtype and depth, kvprism's full and SnapKV rows
 * and llama.cpp's full-cache row, each with its bytes read per token and its fraction of the
 * byte limit at the bandwidth measured around it, and its speed ÷ llama.cpp's at that depth.
 */
import type { ModelConfig } from '../src/model/config.js';
import { fmtBytes } from '../src/model/describe.js';
import { byteLimitFraction, weightBytesPerToken } from './_byte-limit.js';
import { fmt, ratio } from './_timing.js';

export interface DecodeRow {
  engine: 'kvprism' | 'llama.cpp';
  config: ModelConfig;
  dtype: 'f32' | 'bf16';
  context: number;
  policy: 'full' | 'snapkv';
  budget: number;
  backendName: string;
  prefillTokS: number;
  decodeTokS: number;
  /** K/V bytes the decode attends over (the cache after prefill). */
  kvBytes: number;
  peakRssBytes: number;
  /** Read bandwidth around this row (GB/s); undefined without the native addon. */
  gbPerS: number | undefined;
}

/** Bytes one decode step of `r` reads: weight matrices in the row's dtype plus the K/V it attends. */
export function bytesPerToken(r: DecodeRow): number {
  return weightBytesPerToken(r.config, r.dtype === 'f32' ? 4 : 2) + r.kvBytes;
}

export function printDecodeTable(rows: DecodeRow[]): void {
  console.log('\n| weights | context | engine | cache | prefill tok/s | decode tok/s | vs full | vs llama.cpp | KV bytes | bytes / token | read GB/s | of byte limit | peak RSS |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const same = (x: DecodeRow): boolean => x.dtype === r.dtype && x.context === r.context && x.policy === 'full';
    const full = rows.find((x) => same(x) && x.engine === r.engine)!;
    const llama = rows.find((x) => same(x) && x.engine === 'llama.cpp');
    const bytes = bytesPerToken(r);
    const limit = r.gbPerS !== undefined ? `${fmt(byteLimitFraction(r.decodeTokS, bytes, r.gbPerS), 2)}` : '–';
    console.log(
      `| ${r.dtype} | ${r.context} | ${r.engine} | ${r.policy === 'full' ? 'full' : `SnapKV ${r.budget * 100}%`} | ${fmt(r.prefillTokS, 1)} | ${fmt(r.decodeTokS, 2)} | ` +
        `${fmt(ratio(r.decodeTokS, full.decodeTokS), 2)}× | ${llama ? `${fmt(ratio(r.decodeTokS, llama.decodeTokS), 2)}×` : '–'} | ${fmtBytes(r.kvBytes)} | ${fmtBytes(bytes)} | ` +
        `${r.gbPerS !== undefined ? fmt(r.gbPerS, 1) : '–'} | ${limit} | ${fmtBytes(r.peakRssBytes)} |`,
    );
  }
  console.log(
    '\nvs llama.cpp: decode tok/s ÷ llama.cpp\'s full-cache decode at the same weights and depth, measured in this run (same GGUF weights, prompt ids, threads; its K/V type per --llama-cpp-kv, default F32). ' +
      'of byte limit: decode tok/s × bytes / token ÷ read GB/s (native read-only sweep on the decode\'s threads, mean of the sweeps before and after the row).',
  );
}
