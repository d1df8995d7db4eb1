/**
 * `npm run bench -- decode [--quick]`: prefill and decode tokens/s of the SmolLM2-135M preset
 * (random weights at the published shape, f32 and bf16) at 1k / 4k / 16k context, full cache
 * vs SnapKV at 20 %, with KV bytes and peak RSS, and llama.cpp's full-cache decode measured in
 * the same run on the same weights (a GGUF written from the bench's model folder, the same
 * prompt ids, context, thread count, batch 1; K/V stored F32 as ours). Each case runs in its
 * own child process so peak RSS is that case's alone. llama.cpp comes from node-llama-cpp's
 * prebuilt binary, installed by `npm run bench:setup` (bench/_llama-cpp.ts); without it the
 * bench says so and prints our rows only.
 *
 * Decode tok/s is 1000 / the median step time over the decoded tokens. Each row's fraction of
 * the byte limit = tok/s × bytes read per token (weight matrices + the K/V the row attends
 * over) ÷ the read bandwidth measured around that row (bench/_byte-limit.ts).
 *
 * Flags: --quick (2 layers, 512 context, 8 decode tokens: < 1 minute), --contexts 1024,4096,
 * --dtypes f32,bf16, --decode N, --budget 0.2, --backend auto|ts|cpu|cuda, --threads N|auto,
 * --layers N, --models DIR (where preset folders are cached; default $TMPDIR/kvprism-bench),
 * --preset NAME (a llama preset; default smollm2-135m), --llama-cpp on|off (default on),
 * --llama-cpp-kv f32|f16 (llama.cpp's K/V type; default f32, as our cache).
 * --threads auto: per weight dtype, a child measures decode tok/s at 1, 2, 4, … threads
 * (src/model/decode-threads.ts, the runner's `threads: auto`), prints them and the count it
 * kept, and every case of that dtype runs with that count.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, openSync, renameSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadAddon } from '../src/attention/native/addon.js';
import { resolveBackend, settleThreads } from '../src/runner/backend-choice.js';
import type { ThreadChoice } from '../src/model/decode-threads.js';
import type { BackendChoice } from '../src/runner/config-schema.js';
import { loadModelConfig } from '../src/model/config.js';
import { fmtBytes } from '../src/model/describe.js';
import { Decoder } from '../src/model/decoder.js';
import { embedPrompt } from '../src/model/embed-prompt.js';
import { writeLlamaGguf } from '../src/model/gguf-llama.js';
import { initModel } from '../src/model/init-model.js';
import { loadModel } from '../src/model/model.js';
import { createPolicy } from '../src/model/policy-for-model.js';
import { PRESETS, type PresetName } from '../src/model/presets.js';
import { mulberry32 } from '../src/util/random.js';
import { readBandwidth } from './_byte-limit.js';
import { printDecodeTable, type DecodeRow } from './_decode-table.js';
import { LLAMA_CPP_SETUP, llamaCppDecode, llamaCppInstalled, type LlamaCppDecode, type LlamaCppKv } from './_llama-cpp.js';
import { fmt } from './_timing.js';

interface Case {
  modelDir: string;
  dtype: 'f32' | 'bf16';
  context: number;
  decode: number;
  policy: 'full' | 'snapkv';
  budget: number;
  backend: BackendChoice;
  threads: number;
}

interface CaseResult extends Case {
  backendName: string;
  prefillTokS: number;
  decodeTokS: number;
  kvBytes: number;
  peakRssBytes: number;
}

interface LlamaCase {
  gguf: string;
  context: number;
  decode: number;
  threads: number;
  vocabSize: number;
  kv: LlamaCppKv;
}

/** One case, in this process: load, prefill a random prompt, decode greedily. */
async function runCase(c: Case): Promise<CaseResult> {
  const backend = await resolveBackend(c.backend, c.threads);
  const model = loadModel(c.modelDir, { backend });
  const rand = mulberry32(c.context);
  const ids = Array.from({ length: c.context }, () => Math.floor(rand() * model.config.vocabSize));
  const policy = c.policy === 'snapkv' ? createPolicy(model, 'snapkv') : null;
  const dec = new Decoder(model);
  const seq = dec.open({ policy, budget: policy ? { ratio: c.budget } : undefined });
  const prompt = embedPrompt(model, { segments: [{ kind: 'tokens', ids }], addBos: false });
  const t0 = performance.now();
  let logits = dec.prefill(seq, prompt);
  const prefillMs = performance.now() - t0;
  const kvBytes = seq.session.bytes().kvBytes;
  // Median per-token time: robust to other processes stealing the CPU for a few steps.
  const stepMs: number[] = [];
  for (let i = 0; i < c.decode; i++) {
    let best = 0;
    for (let v = 1; v < logits.length; v++) if (logits[v]! > logits[best]!) best = v;
    const t1 = performance.now();
    logits = dec.decodeOne(seq, best);
    stepMs.push(performance.now() - t1);
  }
  stepMs.sort((a, b) => a - b);
  const medianStepMs = stepMs[Math.floor(stepMs.length / 2)]!;
  return {
    ...c,
    backendName: backend.name,
    prefillTokS: c.context / (prefillMs / 1000),
    decodeTokS: 1000 / medianStepMs,
    kvBytes,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
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

function ensureModel(dir: string, preset: PresetName, dtype: 'f32' | 'bf16', layers: number | undefined): string {
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
  const { values } = parseArgs({
    args: argv,
    options: {
      child: { type: 'string' },
      'child-threads': { type: 'string' },
      'child-llama': { type: 'string' },
      quick: { type: 'boolean', default: false },
      contexts: { type: 'string' },
      dtypes: { type: 'string', default: 'f32,bf16' },
      decode: { type: 'string' },
      budget: { type: 'string', default: '0.2' },
      backend: { type: 'string', default: 'auto' },
      threads: { type: 'string', default: '0' },
      layers: { type: 'string' },
      preset: { type: 'string', default: 'smollm2-135m' },
      'llama-cpp': { type: 'string', default: 'on' },
      'llama-cpp-kv': { type: 'string', default: 'f32' },
      models: { type: 'string', default: join(tmpdir(), 'kvprism-bench') },
    },
  });
  if (values.child) {
    console.log(`RESULT ${JSON.stringify(await runCase(JSON.parse(values.child) as Case))}`);
    return;
  }
  if (values['child-llama']) {
    console.log(`RESULT ${JSON.stringify(await runLlamaCase(JSON.parse(values['child-llama']) as LlamaCase))}`);
    return;
  }
  if (values['child-threads']) {
    const { modelDir, backend } = JSON.parse(values['child-threads']) as { modelDir: string; backend: BackendChoice };
    console.log(`RESULT ${JSON.stringify(chooseThreads(modelDir, backend))}`);
    return;
  }
  const quick = values.quick;
  const contexts = (values.contexts ?? (quick ? '512' : '1024,4096,16384')).split(',').map(Number);
  const dtypes = values.dtypes.split(',') as ('f32' | 'bf16')[];
  const layers = values.layers ? Number(values.layers) : quick ? 2 : undefined;
  const decode = Number(values.decode ?? (quick ? 8 : 32));
  const budget = Number(values.budget);
  for (const x of [...contexts, decode, budget]) if (!Number.isFinite(x) || x <= 0) throw new Error(`decode bench: bad number in flags (${x})`);
  for (const d of dtypes) if (d !== 'f32' && d !== 'bf16') throw new Error(`--dtypes: "${d}" is not f32 or bf16`);
  const preset = values.preset as PresetName;
  if (!(preset in PRESETS) || PRESETS[preset].model_type !== 'llama') {
    const llamas = Object.keys(PRESETS).filter((k) => PRESETS[k as PresetName].model_type === 'llama');
    throw new Error(`--preset: "${values.preset}" is not a llama preset; expected one of ${llamas.join(', ')}`);
  }
  if (values['llama-cpp'] !== 'on' && values['llama-cpp'] !== 'off') throw new Error(`--llama-cpp: expected on or off; got ${values['llama-cpp']}`);
  const llamaKv = values['llama-cpp-kv'] as LlamaCppKv;
  if (llamaKv !== 'f32' && llamaKv !== 'f16') throw new Error(`--llama-cpp-kv: expected f32 or f16; got ${llamaKv}`);
  const autoThreads = values.threads === 'auto';
  if (!autoThreads && !(Number.isInteger(Number(values.threads)) && Number(values.threads) >= 0)) {
    throw new Error(`--threads: expected an integer ≥ 0 (0 = every core) or auto; got ${values.threads}`);
  }
  let withLlama = values['llama-cpp'] === 'on';
  console.log(`decode bench: ${preset} shape${layers ? ` (${layers} layers)` : ''}, contexts ${contexts.join('/')}, ${decode} decode tokens, SnapKV ${budget * 100} %`);
  if (withLlama && !llamaCppInstalled()) {
    console.log(`llama.cpp: not installed; run \`${LLAMA_CPP_SETUP}\` (≈ 83 MB, node-llama-cpp's prebuilt CPU binary) to measure it side by side. Printing kvprism's rows only.`);
    withLlama = false;
  }
  // Shared machines skew absolute numbers; the load average says how much else was running.
  console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`);
  const rows: DecodeRow[] = [];
  for (const dtype of dtypes) {
    const modelDir = ensureModel(values.models, preset, dtype, layers);
    const config = loadModelConfig(modelDir);
    const backend = values.backend as BackendChoice;
    let threads = Number(values.threads);
    if (autoThreads) {
      const choice = runChild<ThreadChoice>('--child-threads', { modelDir, backend });
      const speeds = choice.speeds.map((s) => `${s.threads}: ${fmt(s.tokPerSec, 1)}`).join(', ');
      console.log(`  threads auto (${dtype}): tok/s per thread count ${speeds || '–'}; chose ${choice.chosen} (fewest within ${choice.slowdown * 100} % of the best; ${choice.measuredOn})`);
      threads = choice.chosen;
    }
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
      for (const policy of ['full', 'snapkv'] as const) {
        const r = runChild<CaseResult>('--child', { modelDir, dtype, context, decode, policy, budget, backend, threads: n });
        const row: DecodeRow = { ...r, engine: 'kvprism', config, gbPerS: measured() };
        rows.push(row);
        console.log(
          `  [${r.backendName}] ${dtype} ctx ${context} ${policy === 'full' ? 'full  ' : `snapkv`}: prefill ${fmt(r.prefillTokS, 1)} tok/s, ` +
            `decode ${fmt(r.decodeTokS, 2)} tok/s, KV ${fmtBytes(r.kvBytes)}, peak RSS ${fmtBytes(r.peakRssBytes)}`,
        );
      }
      if (gguf) {
        const l = runChild<LlamaCppDecode & { peakRssBytes: number }>('--child-llama', { gguf, context, decode, threads: n, vocabSize: config.vocabSize, kv: llamaKv } satisfies LlamaCase);
        // llama.cpp's K/V hold the whole prompt, as our full cache does.
        const kvBytes = 2 * config.numLayers * config.kvHeads * config.headDim * (llamaKv === 'f32' ? 4 : 2) * context;
        rows.push({ engine: 'llama.cpp', config, dtype, context, policy: 'full', budget, backendName: `llama.cpp ${n} threads, K/V ${llamaKv}`, ...l, kvBytes, gbPerS: measured() });
        console.log(`  [llama.cpp] ${dtype} ctx ${context} full  : prefill ${fmt(l.prefillTokS, 1)} tok/s, decode ${fmt(l.decodeTokS, 2)} tok/s, peak RSS ${fmtBytes(l.peakRssBytes)}`);
      }
    }
  }
  printDecodeTable(rows);
  console.log(`load average at end: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`);
}
