/**
 * `npm run bench -- kv-storage [--tokens N] [--prefill P] [--out FILE]`: what each K/V storage
 * type costs in fidelity and bytes on a real checkpoint (stories260K, ../shared/models). A text
 * of N tokens is sampled once from the model with the f32 cache (seed 0, temperature 1); then,
 * per storage type, the first P tokens are prefilled and the rest teacher-forced one decode
 * step at a time, and each position's next-token distribution is compared with the f32
 * cache's: KL(p_f32 ‖ p_storage) in nats (mean, p99, max over positions), the share of
 * positions whose argmax changed, and the exact K/V bytes per token (all layers) at the end.
 * Attention runs in the TS reference (it reads the codes); the numbers are the storage's, not
 * a kernel's. Writes a Markdown table (default bench/kv-storage.results.md).
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsBackend } from '../src/attention/ts-backend.js';
import { storageSpec, type KVStorage } from '../src/cache/storage-spec.js';
import { Decoder } from '../src/model/decoder.js';
import { embedPrompt } from '../src/model/embed-prompt.js';
import { generate } from '../src/model/generate.js';
import { loadModel, type Model } from '../src/model/model.js';

const here = dirname(fileURLToPath(import.meta.url));
const MODEL_DIR = join(here, '../../shared/models/stories260K');

const STORAGES: { label: string; storage: KVStorage }[] = [
  { label: 'f16', storage: 'f16' },
  { label: 'bf16', storage: 'bf16' },
  { label: 'int8-fp8 (G=32)', storage: 'int8-fp8' },
  { label: 'int8-fp8 (G=4)', storage: { kind: 'int8-fp8', group: 4 } },
  { label: 'int4 (G=32, R=128)', storage: 'int4' },
  { label: 'int4 (G=32, R=0)', storage: { kind: 'int4', group: 32, residual: 0 } },
  { label: 'int2 (G=32, R=128)', storage: 'int2' },
  { label: 'int2 (G=32, R=0)', storage: { kind: 'int2', group: 32, residual: 0 } },
];

function softmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const x of logits) max = Math.max(max, x);
  const p = Float64Array.from(logits, (x) => Math.exp(x - max));
  const sum = p.reduce((a, b) => a + b, 0);
  return p.map((x) => x / sum);
}

function kl(p: Float64Array, q: Float64Array): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) if (p[i]! > 0) s += p[i]! * Math.log(p[i]! / Math.max(q[i]!, 1e-300));
  return s;
}

const argmax = (x: Float64Array) => x.reduce((best, v, i) => (v > x[best]! ? i : best), 0);

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

export async function main(argv: string[]): Promise<void> {
  const tokens = Number(flag(argv, 'tokens', '400'));
  const prefill = Number(flag(argv, 'prefill', '64'));
  const out = flag(argv, 'out', join(here, 'kv-storage.results.md'));
  if (!Number.isInteger(tokens) || !Number.isInteger(prefill) || prefill < 1 || prefill >= tokens) {
    throw new RangeError(`kv-storage: need integers 1 ≤ --prefill < --tokens; got prefill ${prefill}, tokens ${tokens}`);
  }
  const model = loadModel(MODEL_DIR, { backend: tsBackend });
  const text = generate(model, { segments: [] }, { maxNewTokens: tokens - 1, temperature: 1, seed: 0, stop: [] });
  const ids = [model.tokenizer.bosId!, ...text.tokens];
  const t0 = performance.now();
  const ref = distributions(model, ids, prefill, 'f32');
  const rows = [`| storage | KL mean (nats) | KL p99 | KL max | argmax changed | K/V bytes per token | vs f32 |`, `|---|---|---|---|---|---|---|`];
  rows.push(`| f32 | 0 | 0 | 0 | 0 % | ${ref.bytesPerToken.toFixed(1)} | 1.000 |`);
  for (const { label, storage } of STORAGES) {
    const run = distributions(model, ids, prefill, storage);
    const kls = ref.dists.map((p, i) => kl(p, run.dists[i]!)).sort((a, b) => a - b);
    const changed = ref.dists.filter((p, i) => argmax(p) !== argmax(run.dists[i]!)).length / kls.length;
    const mean = kls.reduce((a, b) => a + b, 0) / kls.length;
    const p99 = kls[Math.min(kls.length - 1, Math.floor(0.99 * kls.length))]!;
    const line = `| ${label} | ${mean.toExponential(2)} | ${p99.toExponential(2)} | ${kls[kls.length - 1]!.toExponential(2)} | ${(100 * changed).toFixed(1)} % | ${run.bytesPerToken.toFixed(1)} | ${(run.bytesPerToken / ref.bytesPerToken).toFixed(3)} |`;
    rows.push(line);
    console.log(line);
  }
  const header = [
    `# K/V storage on stories260K: next-token KL vs the f32 cache, and bytes`,
    ``,
    `Command: \`npm run bench -- kv-storage --tokens ${tokens} --prefill ${prefill}\` (${new Date().toISOString().slice(0, 10)}, ${((performance.now() - t0) / 1000).toFixed(0)} s).`,
    `Model: stories260K (5 layers, 4 KV heads, head dim 8). Text: ${ids.length} tokens sampled from the model (seed 0, T = 1);`,
    `${prefill} prefilled, the rest teacher-forced one decode step at a time: ${ref.dists.length} positions compared.`,
    `Bytes: exact K/V bytes (codes + scales + f32 residual) of all layers at ${ids.length - 1} cached tokens, per token. Full cache (no policy).`,
    `With head dim 8, a channel group of 32 is the whole row; with R = 128 KIVI keeps the last 128..159 tokens in f32.`,
    ``,
  ];
  writeFileSync(out, [...header, ...rows, '', ...asymptoticBytes(), ''].join('\n'));
  console.log(`wrote ${out}`);
}
