/**
 * `npm run bench -- decode-split [--quick]`: where one decode step of a small model goes.
 * The AV organism (models/av-organism: 4 layers, hidden 128) prefills a random text prompt at
 * each context (1k, 4k), then decodes greedily with the full cache and with SnapKV at 20 %,
 * all in one process and one run, each step split into:
 *   attention  — backend.attend (the kernel with its statistics, N-API marshalling included)
 *   linear     — the GEMMs (q/k/v/o, MLP, lm head)
 *   small ops  — rmsNorm, RoPE, SiLU·up
 *   compress   — the session's policy work at endStep (plan + apply)
 *   overhead   — the rest: embedding, RoPE tables, cache append, session bookkeeping, JS
 * and "backend calls": the step's calls through the ComputeBackend (N-API calls on native).
 * The cases decode round robin (one step of each per round), so all see the same machine load.
 * Each column is the mean over the fastest half of a case's steps (ranked by step time, so
 * steps that other processes stole the CPU from drop out); the columns add up to the step time.
 * "bytes/token" is what a step must read: the decoder weights plus the K/V the cache holds.
 *
 * Flags: --quick (256/1024 context, 24 steps), --contexts 1024,4096, --decode N (default 96),
 * --budget 0.2, --threads N|auto (0 = every core, as the runner's default; auto: tok/s measured
 * per thread count first, as the runner's `threads: auto`, and the count it keeps is used),
 * --backend auto|ts|cpu, --model DIR (default models/av-organism).
 */
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { resolveBackend, settleThreads } from '../src/runner/backend-choice.js';
import type { BackendChoice } from '../src/runner/config-schema.js';
import { fmtBytes } from '../src/model/describe.js';
import { Decoder } from '../src/model/decoder.js';
import { embedPrompt } from '../src/model/embed-prompt.js';
import { loadModel, type Model } from '../src/model/model.js';
import type { Sequence } from '../src/model/sequence.js';
import { createPolicy } from '../src/model/policy-for-model.js';
import { argmax } from '../src/model/sampling.js';
import { mulberry32 } from '../src/util/random.js';
import { fmt } from './_timing.js';
import { TimedBackend } from './_timed-backend.js';

/** Per-step milliseconds by where they went. */
interface StepSplit {
  totalMs: number;
  attentionMs: number;
  linearMs: number;
  smallOpsMs: number;
  compressMs: number;
  overheadMs: number;
  /** Backend calls in the step (one N-API call each on the native backend). */
  calls: number;
}

interface SplitRow extends StepSplit {
  context: number;
  cache: string;
  kvBytes: number;
  weightBytes: number;
}

/** Share of steps (the fastest) each column averages over. */
const KEEP = 0.5;

const DEFAULT_MODEL = fileURLToPath(new URL('../models/av-organism', import.meta.url));

/** Bytes of the weights one decode step reads: every layer's matrices and norms, the final norm and lm head. */
function decodeWeightBytes(model: Model): number {
  const w = model.weights;
  let b = w.norm.byteLength + w.lmHead.data.byteLength + model.config.hiddenSize * 4;
  for (const l of w.layers) {
    for (const m of [l.q, l.k, l.v, l.o, l.gate, l.up, l.down]) b += m.data.byteLength;
    b += l.inputNorm.byteLength + l.postNorm.byteLength;
  }
  return b;
}

/** Mean of each column over the fastest `keep` share of steps. */
function trimmedMean(steps: StepSplit[], keep = KEEP): StepSplit {
  const kept = steps.slice().sort((a, b) => a.totalMs - b.totalMs).slice(0, Math.max(1, Math.round(steps.length * keep)));
  const mean = (k: keyof StepSplit): number => kept.reduce((s, x) => s + x[k], 0) / kept.length;
  return {
    totalMs: mean('totalMs'),
    attentionMs: mean('attentionMs'),
    linearMs: mean('linearMs'),
    smallOpsMs: mean('smallOpsMs'),
    compressMs: mean('compressMs'),
    overheadMs: mean('overheadMs'),
    calls: mean('calls'),
  };
}

/** One case, prefilled and ready to decode: a sequence, its latest logits and the steps measured so far. */
interface LiveCase {
  context: number;
  cache: string;
  dec: Decoder;
  seq: Sequence;
  logits: Float32Array;
  kvBytes: number;
  steps: StepSplit[];
}

function prefillCase(model: Model, context: number, budget: number | null): LiveCase {
  const vocab = model.config.vocabSize;
  const rand = mulberry32(context);
  // Random ids above the organism's specials (0..2); any id of the vocabulary works for timing.
  const ids = Array.from({ length: context }, () => 3 + Math.floor(rand() * (vocab - 3)));
  const policy = budget === null ? null : createPolicy(model, 'snapkv');
  const dec = new Decoder(model);
  const seq = dec.open({ policy, budget: budget === null ? undefined : { ratio: budget } });
  const logits = dec.prefill(seq, embedPrompt(model, { segments: [{ kind: 'tokens', ids }], addBos: false }));
  return { context, cache: budget === null ? 'full' : `SnapKV ${budget * 100} %`, dec, seq, logits, kvBytes: seq.session.bytes().kvBytes, steps: [] };
}

/** One greedy decode step of `c`, split by where its time went. */
function stepCase(c: LiveCase, timed: TimedBackend): void {
  const token = argmax(c.logits);
  timed.take();
  const c0 = c.seq.session.timings().compressionMs;
  const t0 = performance.now();
  c.logits = c.dec.decodeOne(c.seq, token);
  const totalMs = performance.now() - t0;
  const compressMs = c.seq.session.timings().compressionMs - c0;
  const t = timed.take();
  c.steps.push({ totalMs, ...t, compressMs, overheadMs: totalMs - t.attentionMs - t.linearMs - t.smallOpsMs - compressMs });
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      contexts: { type: 'string' },
      decode: { type: 'string' },
      budget: { type: 'string', default: '0.2' },
      threads: { type: 'string', default: '0' },
      backend: { type: 'string', default: 'auto' },
      model: { type: 'string', default: DEFAULT_MODEL },
    },
  });
  const contexts = (values.contexts ?? (values.quick ? '256,1024' : '1024,4096')).split(',').map(Number);
  const decode = Number(values.decode ?? (values.quick ? 24 : 96));
  const budget = Number(values.budget);
  const auto = values.threads === 'auto';
  const threads = auto ? 0 : Number(values.threads);
  for (const [flag, x] of [...contexts.map((c) => ['--contexts', c] as const), ['--decode', decode] as const]) {
    if (!Number.isInteger(x) || x < 1) throw new Error(`decode-split bench: ${flag} takes positive integers; got ${x}`);
  }
  if (!(budget > 0 && budget < 1)) throw new Error(`decode-split bench: --budget takes a fraction in (0, 1); got ${values.budget}`);
  if (!Number.isInteger(threads) || threads < 0) throw new Error(`decode-split bench: --threads takes an integer ≥ 0 (0 = every core) or auto; got ${values.threads}`);
  const inner = resolveBackend(values.backend as BackendChoice, auto ? 'auto' : threads);
  const timed = new TimedBackend(inner);
  const model = loadModel(values.model, { backend: timed });
  const c = model.config;
  let threadsLabel = threads ? String(threads) : 'all cores';
  if (auto) {
    // Calibrated on the model itself (the timing wrapper hides the native pool from settleThreads).
    const choice = settleThreads({ ...model, backend: inner }, 'auto')!;
    const speeds = choice.speeds.map((s) => `${s.threads}: ${fmt(s.tokPerSec, 1)}`).join(', ');
    console.log(`threads auto: tok/s per thread count ${speeds || '–'}; chose ${choice.chosen} (fewest within ${choice.slowdown * 100} % of the best; ${choice.measuredOn})`);
    threadsLabel = `${choice.chosen} (auto)`;
  }
  console.log(`decode-split bench: ${values.model} (${c.numLayers} layers, hidden ${c.hiddenSize}, ${c.kvHeads} KV heads × ${c.headDim}), backend ${timed.name}, threads ${threadsLabel}`);
  console.log(`contexts ${contexts.join('/')}, ${decode} decode steps per case; round robin; columns: mean ms per step over the fastest half of each case's steps`);
  console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`);
  const cases = contexts.flatMap((context) => [prefillCase(model, context, null), prefillCase(model, context, budget)]);
  // Round robin, one step of each case per round: every case sees the same machine load.
  for (let i = 0; i < decode; i++) for (const c of cases) stepCase(c, timed);
  const weightBytes = decodeWeightBytes(model);
  const rows: SplitRow[] = cases.map((c) => ({ context: c.context, cache: c.cache, kvBytes: c.kvBytes, weightBytes, ...trimmedMean(c.steps) }));
  printTable(rows);
  console.log(`load average at end: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`);
}

function printTable(rows: SplitRow[]): void {
  console.log('\n| context | cache | KV bytes | bytes/token | step ms | attention | linear | small ops | compress | overhead | vs full | backend calls |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const full = rows.find((x) => x.context === r.context && x.cache === 'full')!;
    console.log(
      `| ${r.context} | ${r.cache} | ${fmtBytes(r.kvBytes)} | ${fmtBytes(r.kvBytes + r.weightBytes)} | ${fmt(r.totalMs, 3)} | ${fmt(r.attentionMs, 3)} | ${fmt(r.linearMs, 3)} | ` +
        `${fmt(r.smallOpsMs, 3)} | ${fmt(r.compressMs, 3)} | ${fmt(r.overheadMs, 3)} | ${fmt(full.totalMs / r.totalMs, 2)}× | ${fmt(r.calls, 0)} |`,
    );
  }
  console.log('\n"vs full": the full cache\'s step time ÷ this row\'s (above 1: faster than the full cache at that context).');
}
