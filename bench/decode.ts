/**
 * `npm run bench -- decode [--quick]`: prefill and decode tokens/s of the SmolLM2-135M preset
 * (random weights at the published shape, f32 and bf16) at 1k / 4k / 16k context, full cache
 * vs SnapKV at 20 %, per K/V storage type of our cache (f32 by default; int8-fp8, int4, int2,
 * f16, bf16 on request), with the exact KV bytes and peak RSS, and llama.cpp's full-cache
 * decode measured in the same run on the same weights (a GGUF written from the bench's model
 * folder, the same prompt ids, context, thread count, batch 1; its K/V F32 as our default, or
 * per --llama-cpp-kv). Cases run in child processes so peak RSS is theirs alone: by default one
 * child per (weights, context, storage) prefills once and forks the cache for each policy
 * (bench/_decode-case.ts); `--prefill own` runs a child and a prefill per row instead.
 * llama.cpp comes from node-llama-cpp's prebuilt binary, installed by `npm run bench:setup`
 * (bench/_llama-cpp.ts); without it the bench says so and prints our rows only.
 *
 * Decode tok/s is 1000 / the median step time over the decoded tokens. Each row's fraction of
 * the byte limit = tok/s × bytes read per token (weight matrices + the exact K/V bytes the row
 * attends over: codes, scales and f32 residual for the coded storages) ÷ the read bandwidth
 * measured around that row's child (bench/_byte-limit.ts).
 *
 * Flags (bench/_decode-flags.ts): --quick (2 layers, 512 context, 8 decode tokens: < 1 minute),
 * --contexts 1024,4096, --dtypes f32,bf16, --storages f32,int8-fp8,int4,int2 (our cache's K/V
 * storage kinds, default G = 32 and R = 128; default f32), --cases full,snapkv,llama.cpp (which
 * rows to run; default all three), --prefill shared|own (default shared), --decode N,
 * --budget 0.2, --backend auto|ts|cpu|cuda, --threads N|auto, --layers N, --models DIR (where
 * preset folders are cached; default $TMPDIR/kvprism-bench), --preset NAME (a llama preset;
 * default smollm2-135m), --llama-cpp on|off (default on), --llama-cpp-kv f32|f16 (llama.cpp's
 * K/V type; default f32). --threads auto: per weight dtype, a child measures decode tok/s at
 * 1, 2, 4, … threads (src/model/decode-threads.ts, the runner's `threads: auto`), prints them
 * and the count it kept, and every case of that dtype runs with that count.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, openSync, renameSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAddon } from '../src/attention/native/addon.js';
import { resolveBackend, settleThreads } from '../src/runner/backend-choice.js';
import type { ThreadChoice } from '../src/model/decode-threads.js';
import type { BackendChoice } from '../src/runner/config-schema.js';
import { loadModelConfig } from '../src/model/config.js';
import { fmtBytes } from '../src/model/describe.js';
import { writeLlamaGguf } from '../src/model/gguf-llama.js';
import { initModel } from '../src/model/init-model.js';
import { loadModel } from '../src/model/model.js';
import type { PresetName } from '../src/model/presets.js';
import { readBandwidth } from './_byte-limit.js';
import { runPrefillCase, type PolicyResult, type PrefillCase } from './_decode-case.js';
import { parseDecodeFlags, type DecodeFlags, type WeightDType } from './_decode-flags.js';
import { printDecodeTable, type DecodeRow } from './_decode-table.js';
import { LLAMA_CPP_SETUP, llamaCppDecode, llamaCppInstalled, type LlamaCppDecode, type LlamaCppKv } from './_llama-cpp.js';
import { fmt } from './_timing.js';

interface LlamaCase {
  gguf: string;
  context: number;
  decode: number;
  threads: number;
  vocabSize: number;
  kv: LlamaCppKv;
}

/** llama.cpp on the same model's GGUF, in this process. */
async function runLlamaCase(c: LlamaCase): Promise<LlamaCppDecode & { peakRssBytes: number }> {
  const r = await llamaCppDecode(c.gguf, c);
  return { ...r, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
}

/** `threads: auto` on one model, in this process: the calibration decode's choice. */
function chooseThreads(modelDir: string, backend: BackendChoice): ThreadChoice {
  const model = loadModel(modelDir, { backend: resolveBackend(backend, 'auto') });
  return settleThreads(model, 'auto')!;
}

/** Runs this bench in a child with `flag value` and returns the JSON it printed after RESULT. */
function runChild<T>(flag: '--child' | '--child-threads' | '--child-llama', arg: unknown): T {
  const mainTs = fileURLToPath(new URL('./main.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', mainTs, 'decode', flag, JSON.stringify(arg)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (r.status !== 0 || !line) throw new Error(`decode bench ${flag} ${JSON.stringify(arg)} failed (exit ${r.status}):\n${r.stderr.slice(-2000)}`);
  return JSON.parse(line.slice(7)) as T;
}

function ensureModel(dir: string, preset: PresetName, dtype: WeightDType, layers: number | undefined): string {
  const out = join(dir, `${preset}-${dtype}${layers ? `-l${layers}` : ''}`);
  if (!existsSync(join(out, 'model.safetensors'))) {
    console.log(`writing ${out} (random weights, ${preset} shape)…`);
    initModel({ preset, out, dtype, layers });
    flushToDisk(join(out, 'model.safetensors'));
  }
  return out;
}

/** Waits for a freshly written file to reach the disk, so its write-back does not run during the first timed case. */
function flushToDisk(file: string): void {
  const fd = openSync(file, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function ensureGguf(modelDir: string): string {
  const out = join(modelDir, 'model.gguf');
  if (!existsSync(out)) {
    // Written aside and renamed, so an interrupted write never leaves a truncated GGUF to reuse.
    writeLlamaGguf(modelDir, `${out}.partial`);
    renameSync(`${out}.partial`, out);
    flushToDisk(out);
  }
  return out;
}

export async function main(argv: string[]): Promise<void> {
  const { flags, children } = parseDecodeFlags(argv);
  if (children.child) {
    console.log(`RESULT ${JSON.stringify(runPrefillCase(JSON.parse(children.child) as PrefillCase))}`);
    return;
  }
  if (children.childLlama) {
    console.log(`RESULT ${JSON.stringify(await runLlamaCase(JSON.parse(children.childLlama) as LlamaCase))}`);
    return;
  }
  if (children.childThreads) {
    const { modelDir, backend } = JSON.parse(children.childThreads) as { modelDir: string; backend: BackendChoice };
    console.log(`RESULT ${JSON.stringify(chooseThreads(modelDir, backend))}`);
    return;
  }
  const { preset, layers, contexts, decode, budget, storages, policies } = flags;
  console.log(
    `decode bench: ${preset} shape${layers ? ` (${layers} layers)` : ''}, contexts ${contexts.join('/')}, ${decode} decode tokens, ` +
      `cases ${[...policies, ...(flags.llamaCpp ? ['llama.cpp'] : [])].join(', ') || 'none'}, SnapKV ${budget * 100} %, K/V storages ${storages.join(', ')}, prefill ${flags.prefill}`,
  );
  let withLlama = flags.llamaCpp;
  if (withLlama && !llamaCppInstalled()) {
    console.log(`llama.cpp: not installed; run \`${LLAMA_CPP_SETUP}\` (≈ 83 MB, node-llama-cpp's prebuilt CPU binary) to measure it side by side. Printing kvprism's rows only.`);
    withLlama = false;
  }
  // Shared machines skew absolute numbers; the load average says how much else was running.
  console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`);
  const rows: DecodeRow[] = [];
  for (const dtype of flags.dtypes) {
    const modelDir = ensureModel(flags.models, preset, dtype, layers);
    const config = loadModelConfig(modelDir);
    const threads = flags.threads === 'auto' ? autoThreads(modelDir, flags.backend, dtype) : flags.threads;
    // The count both engines and the bandwidth probe use (0 = the native pool's default: every core).
    const n = threads > 0 ? threads : (loadAddon()?.info().threads ?? availableParallelism());
    const gguf = withLlama ? ensureGguf(modelDir) : undefined;
    let gbBefore = readBandwidth(n);
    const measured = (): number | undefined => {
      const after = readBandwidth(n);
      const mean = gbBefore !== undefined && after !== undefined ? (gbBefore + after) / 2 : undefined;
      gbBefore = after;
      return mean;
    };
    for (const context of contexts) {
      for (const storage of storages) {
        // Shared: one child prefills once for every policy; own: a child (and a prefill) per policy.
        const groups = flags.prefill === 'shared' ? [policies] : policies.map((p) => [p]);
        for (const group of groups.filter((g) => g.length > 0)) {
          const c: PrefillCase = { modelDir, dtype, context, decode, storage, policies: group, budget, backend: flags.backend, threads: n, prefill: flags.prefill };
          const results = runChild<PolicyResult[]>('--child', c);
          const gbPerS = measured();
          for (const r of results) {
            rows.push({ ...r, engine: 'kvprism', config, dtype, context, storage, budget, gbPerS });
            console.log(
              `  [${r.backendName}] ${dtype} ctx ${context} ${storage} ${r.policy === 'full' ? 'full  ' : 'snapkv'}: prefill ${fmt(r.prefillTokS, 1)} tok/s, ` +
                `decode ${fmt(r.decodeTokS, 2)} tok/s, KV ${fmtBytes(r.kvBytes)}, peak RSS ${fmtBytes(r.peakRssBytes)}`,
            );
          }
        }
      }
      if (gguf) rows.push(llamaRow(flags, { gguf, context, decode, threads: n, vocabSize: config.vocabSize, kv: flags.llamaKv }, dtype, config, measured));
    }
  }
  printDecodeTable(rows);
  console.log(`load average at end: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`);
}

/** `--threads auto` for one weight dtype: a child measures tok/s per thread count; prints them and returns the count it kept. */
function autoThreads(modelDir: string, backend: BackendChoice, dtype: WeightDType): number {
  const choice = runChild<ThreadChoice>('--child-threads', { modelDir, backend });
  const speeds = choice.speeds.map((s) => `${s.threads}: ${fmt(s.tokPerSec, 1)}`).join(', ');
  console.log(`  threads auto (${dtype}): tok/s per thread count ${speeds || '–'}; chose ${choice.chosen} (fewest within ${choice.slowdown * 100} % of the best; ${choice.measuredOn})`);
  return choice.chosen;
}

/** llama.cpp's full-cache row at one depth, run in its own child. */
function llamaRow(flags: DecodeFlags, c: LlamaCase, dtype: WeightDType, config: DecodeRow['config'], measured: () => number | undefined): DecodeRow {
  const l = runChild<LlamaCppDecode & { peakRssBytes: number }>('--child-llama', c);
  // llama.cpp's K/V hold the whole prompt, as our full cache does.
  const kvBytes = 2 * config.numLayers * config.kvHeads * config.headDim * (c.kv === 'f32' ? 4 : 2) * c.context;
  console.log(`  [llama.cpp] ${dtype} ctx ${c.context} ${c.kv} full  : prefill ${fmt(l.prefillTokS, 1)} tok/s, decode ${fmt(l.decodeTokS, 2)} tok/s, peak RSS ${fmtBytes(l.peakRssBytes)}`);
  return { engine: 'llama.cpp', config, dtype, context: c.context, storage: c.kv, policy: 'full', budget: flags.budget, backendName: `llama.cpp ${c.threads} threads, K/V ${c.kv}`, ...l, kvBytes, gbPerS: measured() };
}
