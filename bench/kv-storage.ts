/**
 * `npm run bench -- kv-storage [--tokens N] [--prefill P] [--samples S] [--long-samples L]
 * [--backend auto|ts|cpu] [--out FILE]`: what each K/V storage type costs in fidelity and bytes,
 * on a real checkpoint (stories260K, ../shared/models) and on the AV organism
 * (models/av-organism, av-world test samples; _kv-storage-organism.ts). On stories260K a text
 * of N tokens is sampled once from the model with the f32 cache (seed 0, temperature 1); then,
 * per storage type, the first P tokens are prefilled and the rest teacher-forced one decode
 * step at a time, and each position's next-token distribution is compared with the f32
 * cache's: KL(p_f32 ‖ p_storage) in nats (mean, p99, max over positions), the share of
 * positions whose argmax changed, and the exact K/V bytes per token (all layers) at the end.
 * Attention runs in the TS reference (it reads the codes); the numbers are the storage's, not
 * a kernel's. On the organism, S samples of the default preset and L of the long one (a subset
 * of the storages: its prefills cost ~10× more) run on --backend (default auto: the native CPU
 * kernels, which read the same codes, one thread). Writes both tables to one Markdown file
 * (default bench/kv-storage.results.md).
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend, type BackendChoice } from '../src/attention/select-backend.js';
import { tsBackend } from '../src/attention/ts-backend.js';
import { storageSpec, type KVStorage } from '../src/cache/storage-spec.js';
import { Decoder } from '../src/model/decoder.js';
import { embedPrompt } from '../src/model/embed-prompt.js';
import { generate } from '../src/model/generate.js';
import { loadModel, type Model } from '../src/model/model.js';
import { argmax, klCells, softmax, summariseKL } from './_kl-table.js';
import { organismStorageTable, type LabelledStorage } from './_kv-storage-organism.js';

const here = dirname(fileURLToPath(import.meta.url));
const MODEL_DIR = join(here, '../../shared/models/stories260K');
const ORGANISM_DIR = join(here, '../models/av-organism');

const STORAGES: LabelledStorage[] = [
  { label: 'f16', storage: 'f16' },
  { label: 'bf16', storage: 'bf16' },
  { label: 'int8-fp8 (G=32)', storage: 'int8-fp8' },
  { label: 'int8-fp8 (G=4)', storage: { kind: 'int8-fp8', group: 4 } },
  { label: 'int4 (G=32, R=128)', storage: 'int4' },
  { label: 'int4 (G=32, R=0)', storage: { kind: 'int4', group: 32, residual: 0 } },
  { label: 'int2 (G=32, R=128)', storage: 'int2' },
  { label: 'int2 (G=32, R=0)', storage: { kind: 'int2', group: 32, residual: 0 } },
];

/** The long preset's storages: the defaults of each quantized kind (its prefills cost ~10× the default preset's). */
const LONG_STORAGES = STORAGES.filter(({ label }) => ['int8-fp8 (G=32)', 'int4 (G=32, R=128)', 'int2 (G=32, R=128)'].includes(label));

/** Next-token distributions at positions P-1 .. N-2 (prefill's last, then each decode step) and K/V bytes per token. */
function distributions(model: Model, ids: number[], prefill: number, storage: KVStorage): { dists: Float64Array[]; bytesPerToken: number } {
  const dec = new Decoder(model);
  const seq = dec.open({ storage, backend: tsBackend });
  const dists = [softmax(dec.prefill(seq, embedPrompt(model, { segments: [{ kind: 'tokens', ids: ids.slice(0, prefill) }], addBos: false })))];
  for (let i = prefill; i < ids.length - 1; i++) dists.push(softmax(dec.decodeOne(seq, ids[i]!)));
  return { dists, bytesPerToken: seq.session.bytes().kvBytes / seq.length };
}

/** Bytes per token per KV head (K+V) at larger head dims, from the storage specs, long-run (residual excluded). */
function asymptoticBytes(): string[] {
  const dims = [64, 128];
  const lines = [`Bytes per token per KV head (K+V) once the residual is a vanishing share (StorageSpec.bytes, 4096 coded tokens):`, ``, `| storage | ${dims.map((d) => `d = ${d}`).join(' | ')} |`, `|---|${dims.map(() => '---').join('|')}|`];
  for (const { label, storage } of [{ label: 'f32', storage: 'f32' as KVStorage }, ...STORAGES]) {
    const cells = dims.map((d) => {
      const spec = storageSpec(storage, d);
      const n = 4096;
      const counts = spec.quantized ? { coded: n, keyGroups: spec.kind === 'int8-fp8' ? 0 : n / spec.group, dense: 0 } : { coded: 0, keyGroups: 0, dense: n };
      const b = spec.bytes(counts) / n;
      return `${b.toFixed(1)} (${((100 * b) / (d * 8)).toFixed(1)} % of f32)`;
    });
    lines.push(`| ${label} | ${cells.join(' | ')} |`);
  }
  return lines;
}

function flag(argv: string[], name: string, fallback: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
}

/** An integer flag ≥ `min`, or a RangeError naming it. */
function intFlag(argv: string[], name: string, fallback: number, min: number): number {
  const raw = flag(argv, name, String(fallback));
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new RangeError(`kv-storage: --${name} takes an integer ≥ ${min}; got ${raw}`);
  return n;
}

/** The stories260K section: KL over teacher-forced positions of one sampled text. */
function storiesSection(tokens: number, prefill: number): string[] {
  const t0 = performance.now();
  const model = loadModel(MODEL_DIR, { backend: tsBackend });
  const text = generate(model, { segments: [] }, { maxNewTokens: tokens - 1, temperature: 1, seed: 0, stop: [] });
  const ids = [model.tokenizer.bosId!, ...text.tokens];
  const ref = distributions(model, ids, prefill, 'f32');
  const rows = [`| storage | KL mean (nats) | KL p99 | KL max | argmax changed | K/V bytes per token | vs f32 |`, `|---|---|---|---|---|---|---|`];
  rows.push(`| f32 | 0 | 0 | 0 | 0 % | ${ref.bytesPerToken.toFixed(1)} | 1.000 |`);
  for (const { label, storage } of STORAGES) {
    const run = distributions(model, ids, prefill, storage);
    const line = `| ${label} | ${klCells(summariseKL(ref.dists, run.dists))} | ${run.bytesPerToken.toFixed(1)} | ${(run.bytesPerToken / ref.bytesPerToken).toFixed(3)} |`;
    rows.push(line);
    console.log(line);
  }
  return [
    `## stories260K: next-token KL vs the f32 cache, and bytes`,
    ``,
    `Model: stories260K (5 layers, 4 KV heads, head dim 8). Text: ${ids.length} tokens sampled from the model (seed 0, T = 1);`,
    `${prefill} prefilled, the rest teacher-forced one decode step at a time: ${ref.dists.length} positions compared (${((performance.now() - t0) / 1000).toFixed(0)} s, TS reference attention).`,
    `Bytes: exact K/V bytes (codes + scales + f32 residual) of all layers at ${ids.length - 1} cached tokens, per token. Full cache (no policy).`,
    `With head dim 8, a channel group of 32 is the whole row; with R = 128 KIVI keeps the last 128..159 tokens in f32.`,
    ``,
    ...rows,
  ];
}

/** The organism section: one table per preset (S default samples, L long ones; L = 0 skips it). */
function organismSection(samples: number, longSamples: number, backend: BackendChoice): string[] {
  const model = loadModel(ORGANISM_DIR, { backend: selectBackend(backend, { threads: 1 }) });
  const out = [
    `## AV organism: answer-position KL vs the f32 cache, accuracy, and bytes`,
    ``,
    `Model: models/av-organism (4 layers, 2 KV heads, head dim 32; so G = 32 is one group per row). Samples: av-world test split, seed 0,`,
    `the first N of each preset (families in turn). Per sample and storage the question-aware prompt is prefilled into a cache of that`,
    `storage (quantized from its first token) and the held-back question tail decoded over it; compared is the next-token distribution`,
    `at the answer position: KL(p_f32 ‖ p_storage) over samples, the share of samples whose argmax changed, the answer accuracy (the`,
    `choice the runner's scoring picks) and the exact K/V bytes per token (all layers, codes + scales + f32 residual) at that position.`,
    `Full cache (no policy). Attention: ${model.backend.name} backend, 1 thread (it reads the codes as the TS reference does).`,
    `With N < 100 the p99 is the largest KL (entry ⌊0.99·N⌋ of the sorted list), so it equals the max. Times are wall seconds.`,
  ];
  const presets: [string, number, readonly LabelledStorage[]][] = [['default', samples, STORAGES], ['long', longSamples, LONG_STORAGES]];
  for (const [preset, n, storages] of presets) {
    if (n === 0) continue;
    const t = organismStorageTable(model, preset, n, storages);
    for (const r of t.rows.slice(2)) console.log(`${preset}: ${r}`);
    out.push(``, `### ${preset} preset: N = ${n} samples, ${t.meanTokens.toFixed(0)} prompt tokens on average (${t.seconds.toFixed(0)} s)`, ``, ...t.rows);
  }
  return out;
}

export async function main(argv: string[]): Promise<void> {
  const tokens = intFlag(argv, 'tokens', 400, 2);
  const prefill = intFlag(argv, 'prefill', 64, 1);
  const samples = intFlag(argv, 'samples', 36, 1);
  const longSamples = intFlag(argv, 'long-samples', 6, 0);
  const backend = flag(argv, 'backend', 'auto');
  const out = flag(argv, 'out', join(here, 'kv-storage.results.md'));
  if (prefill >= tokens) throw new RangeError(`kv-storage: need --prefill < --tokens; got prefill ${prefill}, tokens ${tokens}`);
  if (!['auto', 'ts', 'cpu'].includes(backend)) throw new RangeError(`kv-storage: --backend takes auto, ts or cpu; got ${backend}`);
  const t0 = performance.now();
  const stories = storiesSection(tokens, prefill);
  const organism = organismSection(samples, longSamples, backend as BackendChoice);
  const command = ['npm run bench -- kv-storage', ...argv.filter((a, i) => !(a === '--out' || argv[i - 1] === '--out'))].join(' ');
  const header = [
    `# K/V storage: next-token KL vs the f32 cache, and bytes (stories260K and the AV organism)`,
    ``,
    `Command: \`${command}\` (${new Date().toISOString().slice(0, 10)}, ${((performance.now() - t0) / 1000).toFixed(0)} s in all).`,
    `Defaults: --tokens 400 --prefill 64 --samples 36 --long-samples 6 --backend auto.`,
    ``,
  ];
  writeFileSync(out, [...header, ...stories, '', ...organism, '', ...asymptoticBytes(), ''].join('\n'));
  console.log(`wrote ${out}`);
}
