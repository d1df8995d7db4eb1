/**
 * llama.cpp in the decode bench, through node-llama-cpp's prebuilt binaries. node-llama-cpp is
 * not a dependency of kvprism: `npm run bench:setup` installs it (pinned in
 * bench/llama-cpp/package.json) with only this platform's CPU binary package. It is loaded
 * with `build: 'never'` and `skipDownload`, so a run never compiles or downloads: without the
 * prebuilt binary it fails with a message saying so. KVPRISM_LLAMA_CPP_DIR names another folder
 * holding node_modules/node-llama-cpp (default bench/llama-cpp).
 *
 * Decode is timed as ours is: a random prompt of `context` ids (no BOS), then greedy decoding
 * one token per call, tok/s = 1000 / the median step time. K/V are stored as F32 (our cache's
 * default) or F16 (llama.cpp's default); flash attention is off (node-llama-cpp's default).
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mulberry32 } from '../src/util/random.js';

export const LLAMA_CPP_SETUP = 'npm run bench:setup';
/** node-llama-cpp's entry file (read at each call, so the env var can change between runs). */
function entry(): string {
  return join(process.env.KVPRISM_LLAMA_CPP_DIR ?? fileURLToPath(new URL('./llama-cpp', import.meta.url)), 'node_modules', 'node-llama-cpp', 'dist', 'index.js');
}

/** The part of node-llama-cpp's API this bench uses. */
interface ControlledOutput {
  next?: { token?: number | null; probabilities?: Map<number, number> };
}
type ControlledItem = number | [number, { generateNext: { token?: boolean; probabilities?: boolean } }];
interface Sequence {
  controlledEvaluate(items: ControlledItem[]): Promise<(ControlledOutput | undefined)[]>;
}
interface Context {
  getSequence(): Sequence;
  dispose(): Promise<void>;
}
interface Model {
  createContext(opts: Record<string, unknown>): Promise<Context>;
  dispose(): Promise<void>;
}
interface Llama {
  loadModel(opts: { modelPath: string; gpuLayers?: number }): Promise<Model>;
  dispose(): Promise<void>;
}
interface NodeLlamaCpp {
  getLlama(opts: Record<string, unknown>): Promise<Llama>;
  getModuleVersion?(): Promise<string>;
}

/** Whether `npm run bench:setup` has installed node-llama-cpp. */
export function llamaCppInstalled(): boolean {
  return existsSync(entry());
}

/** llama.cpp's CPU backend at `threads` threads (0 = every core); never builds or downloads. */
export async function openLlamaCpp(threads: number): Promise<{ llama: Llama; version: string; threads: number }> {
  if (!llamaCppInstalled()) throw new Error(`node-llama-cpp is not installed (${entry()} is missing); run \`${LLAMA_CPP_SETUP}\``);
  const nlc = (await import(pathToFileURL(entry()).href)) as NodeLlamaCpp;
  const n = threads > 0 ? threads : availableParallelism();
  let llama: Llama;
  try {
    llama = await nlc.getLlama({ gpu: false, build: 'never', usePrebuiltBinaries: true, skipDownload: true, progressLogs: false, logLevel: 'error', maxThreads: n });
  } catch (e) {
    throw new Error(`node-llama-cpp found no prebuilt llama.cpp binary for this platform (${process.platform}-${process.arch}); it is not built or downloaded at run time. Re-run \`${LLAMA_CPP_SETUP}\`. (${(e as Error).message})`);
  }
  return { llama, version: (await nlc.getModuleVersion?.()) ?? 'unknown', threads: n };
}

export type LlamaCppKv = 'f32' | 'f16';

async function withContext<T>(gguf: string, threads: number, contextSize: number, kv: LlamaCppKv, body: (seq: Sequence) => Promise<T>): Promise<T> {
  const { llama, threads: n } = await openLlamaCpp(threads);
  const model = await llama.loadModel({ modelPath: gguf, gpuLayers: 0 });
  const context = await model.createContext({
    contextSize,
    batchSize: 512,
    sequences: 1,
    threads: { ideal: n, min: n },
    flashAttention: false,
    experimentalKvCacheKeyType: kv.toUpperCase(),
    experimentalKvCacheValueType: kv.toUpperCase(),
  });
  try {
    return await body(context.getSequence());
  } finally {
    await context.dispose();
    await model.dispose();
    await llama.dispose();
  }
}

export interface LlamaCppDecode {
  prefillTokS: number;
  decodeTokS: number;
}

/** Prefills `context` random ids (the same ids our case uses) and decodes `decode` tokens greedily. */
export async function llamaCppDecode(gguf: string, opts: { context: number; decode: number; threads: number; vocabSize: number; kv?: LlamaCppKv }): Promise<LlamaCppDecode> {
  const rand = mulberry32(opts.context);
  const ids = Array.from({ length: opts.context }, () => Math.floor(rand() * opts.vocabSize));
  return withContext(gguf, opts.threads, opts.context + opts.decode + 1, opts.kv ?? 'f32', async (seq) => {
    const t0 = performance.now();
    const prompt: ControlledItem[] = ids.slice(0, -1);
    prompt.push([ids[ids.length - 1]!, { generateNext: { token: true } }]);
    let token = nextToken(await seq.controlledEvaluate(prompt));
    const prefillMs = performance.now() - t0;
    const stepMs: number[] = [];
    for (let i = 0; i < opts.decode; i++) {
      const t1 = performance.now();
      token = nextToken(await seq.controlledEvaluate([[token, { generateNext: { token: true } }]]));
      stepMs.push(performance.now() - t1);
    }
    stepMs.sort((a, b) => a - b);
    return { prefillTokS: opts.context / (prefillMs / 1000), decodeTokS: 1000 / stepMs[Math.floor(stepMs.length / 2)]! };
  });
}

/** llama.cpp's next-token probabilities (softmax of the logits, temperature 1) after `ids`. */
export async function llamaCppNextProbs(gguf: string, ids: number[], threads = 1): Promise<Map<number, number>> {
  return withContext(gguf, threads, ids.length + 8, 'f32', async (seq) => {
    const items: ControlledItem[] = ids.slice(0, -1);
    items.push([ids[ids.length - 1]!, { generateNext: { probabilities: true } }]);
    const out = await seq.controlledEvaluate(items);
    const probs = out[out.length - 1]?.next?.probabilities;
    if (!probs) throw new Error('node-llama-cpp returned no probabilities for the last prompt token');
    return probs;
  });
}

function nextToken(out: (ControlledOutput | undefined)[]): number {
  const t = out[out.length - 1]?.next?.token;
  if (t === undefined || t === null) throw new Error('node-llama-cpp returned no next token');
  return t;
}
