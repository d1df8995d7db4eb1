/**
 * `npm run bench -- decode [--quick]`: prefill and decode tokens/s of the SmolLM2-135M preset
 * (random weights at the published shape, f32 and bf16) at 1k / 4k / 16k context, full cache
 * vs SnapKV at 20 %, with KV bytes and peak RSS. Each case runs in its own child process so
 * peak RSS is that case's alone. Ratios are measured side by side (SnapKV vs full at the same
 * depth); llama.cpp figures from BENCHMARKS.md (same shape, this machine kind) are printed
 * beside ours for reference, not re-measured here.
 *
 * Decode tok/s is 1000 / the median step time over the decoded tokens.
 *
 * Flags: --quick (2 layers, 512 context, 8 decode tokens: < 1 minute), --contexts 1024,4096,
 * --dtypes f32,bf16, --decode N, --budget 0.2, --backend auto|ts|cpu|cuda, --threads N|auto,
 * --layers N, --models DIR (where preset folders are cached; default $TMPDIR/kvprism-bench).
 * --threads auto: per weight dtype, a child measures decode tok/s at 1, 2, 4, … threads
 * (src/model/decode-threads.ts, the runner's `threads: auto`), prints them and the count it
 * kept, and every case of that dtype runs with that count.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { resolveBackend, settleThreads } from '../src/runner/backend-choice.js';
import type { ThreadChoice } from '../src/model/decode-threads.js';
import type { BackendChoice } from '../src/runner/config-schema.js';
import { fmtBytes } from '../src/model/describe.js';
import { Decoder } from '../src/model/decoder.js';
import { embedPrompt } from '../src/model/embed-prompt.js';
import { initModel } from '../src/model/init-model.js';
import { loadModel } from '../src/model/model.js';
import { createPolicy } from '../src/model/policy-for-model.js';
import { mulberry32 } from '../src/util/random.js';
import { fmt, ratio } from './_timing.js';

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
  compressMs: number;
  kvBytes: number;
  peakRssBytes: number;
}

/** llama.cpp tokens/s at SmolLM2-135M shape, 2 threads (BENCHMARKS.md): decode at depth. */
const LLAMA_CPP_DECODE: Record<string, Record<number, number>> = {
  f32: { 1024: 31.6, 4096: 17.0, 16384: 6.1 },
  f16: { 1024: 39.7, 4096: 19.6, 16384: 6.4 },
};

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
    compressMs: seq.session.timings().compressionMs,
    kvBytes,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

/** `threads: auto` on one model, in this process: the calibration decode's choice. */
function chooseThreads(modelDir: string, backend: BackendChoice): ThreadChoice {
  const model = loadModel(modelDir, { backend: resolveBackend(backend, 'auto') });
  return settleThreads(model, 'auto')!;
}

/** Runs this bench in a child with `flag value` and returns the JSON it printed after RESULT. */
function runChild<T>(flag: '--child' | '--child-threads', arg: unknown): T {
  const mainTs = fileURLToPath(new URL('./main.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', mainTs, 'decode', flag, JSON.stringify(arg)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (r.status !== 0 || !line) throw new Error(`decode bench ${flag} ${JSON.stringify(arg)} failed (exit ${r.status}):\n${r.stderr.slice(-2000)}`);
  return JSON.parse(line.slice(7)) as T;
}

function ensureModel(dir: string, dtype: 'f32' | 'bf16', layers: number | undefined): string {
  const out = join(dir, `smollm2-135m-${dtype}${layers ? `-l${layers}` : ''}`);
  if (!existsSync(join(out, 'model.safetensors'))) {
    console.log(`writing ${out} (random weights, SmolLM2-135M shape)…`);
    initModel({ preset: 'smollm2-135m', out, dtype, layers });
  }
  return out;
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      child: { type: 'string' },
      'child-threads': { type: 'string' },
      quick: { type: 'boolean', default: false },
      contexts: { type: 'string' },
      dtypes: { type: 'string', default: 'f32,bf16' },
      decode: { type: 'string' },
      budget: { type: 'string', default: '0.2' },
      backend: { type: 'string', default: 'auto' },
      threads: { type: 'string', default: '0' },
      layers: { type: 'string' },
      models: { type: 'string', default: join(tmpdir(), 'kvprism-bench') },
    },
  });
  if (values.child) {
    console.log(`RESULT ${JSON.stringify(await runCase(JSON.parse(values.child) as Case))}`);
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
  const autoThreads = values.threads === 'auto';
  if (!autoThreads && !(Number.isInteger(Number(values.threads)) && Number(values.threads) >= 0)) {
    throw new Error(`--threads: expected an integer ≥ 0 (0 = every core) or auto; got ${values.threads}`);
  }
  console.log(`decode bench: SmolLM2-135M shape${layers ? ` (${layers} layers)` : ''}, contexts ${contexts.join('/')}, ${decode} decode tokens, SnapKV ${budget * 100} %`);
  // Shared machines skew absolute numbers; the load average says how much else was running.
  console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`);
  const rows: CaseResult[] = [];
  for (const dtype of dtypes) {
    const modelDir = ensureModel(values.models, dtype, layers);
    const backend = values.backend as BackendChoice;
    let threads = Number(values.threads);
    if (autoThreads) {
      const choice = runChild<ThreadChoice>('--child-threads', { modelDir, backend });
      const speeds = choice.speeds.map((s) => `${s.threads}: ${fmt(s.tokPerSec, 1)}`).join(', ');
      console.log(`  threads auto (${dtype}): tok/s per thread count ${speeds || '–'}; chose ${choice.chosen} (fewest within ${choice.slowdown * 100} % of the best; ${choice.measuredOn})`);
      threads = choice.chosen;
    }
    for (const context of contexts) {
      for (const policy of ['full', 'snapkv'] as const) {
        const r = runChild<CaseResult>('--child', { modelDir, dtype, context, decode, policy, budget, backend, threads });
        rows.push(r);
        console.log(
          `  [${r.backendName}] ${dtype} ctx ${context} ${policy === 'full' ? 'full  ' : `snapkv`}: prefill ${fmt(r.prefillTokS, 1)} tok/s, ` +
            `decode ${fmt(r.decodeTokS, 2)} tok/s, KV ${fmtBytes(r.kvBytes)}, peak RSS ${fmtBytes(r.peakRssBytes)}`,
        );
      }
    }
  }
  printTable(rows, layers);
  console.log(`load average at end: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`);
}

function printTable(rows: CaseResult[], layers: number | undefined): void {
  console.log('\n| weights | context | cache | prefill tok/s | decode tok/s | decode vs full | KV bytes | peak RSS | llama.cpp decode (ref) | ours / llama.cpp |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const full = rows.find((x) => x.dtype === r.dtype && x.context === r.context && x.policy === 'full')!;
    const ref = layers ? undefined : LLAMA_CPP_DECODE[r.dtype === 'bf16' ? 'f16' : 'f32']?.[r.context];
    console.log(
      `| ${r.dtype} | ${r.context} | ${r.policy === 'full' ? 'full' : `SnapKV ${r.budget * 100}%`} | ${fmt(r.prefillTokS, 1)} | ${fmt(r.decodeTokS, 2)} | ` +
        `${fmt(ratio(r.decodeTokS, full.decodeTokS), 2)}× | ${fmtBytes(r.kvBytes)} | ${fmtBytes(r.peakRssBytes)} | ${ref ?? '–'} | ${ref ? `${fmt(r.decodeTokS / ref, 2)}×` : '–'} |`,
    );
  }
  console.log('\nllama.cpp column: BENCHMARKS.md figures (2 threads; its bf16 row is F16), not measured in this run.');
}
