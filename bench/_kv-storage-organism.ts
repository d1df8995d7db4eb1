/**
 * The organism part of `npm run bench -- kv-storage`: per av-world test sample, the prompt is
 * prefilled and its held-back question tail decoded with each K/V storage type (every storage
 * quantizes its own cache from the first token, as an engine would), and the next-token
 * distribution at the answer position [vocab] is compared with the f32 cache's: KL(p_f32 ‖
 * p_storage) over samples (mean, p99, max), the share of samples whose argmax changed, the
 * answer accuracy (the choice the runner's scoring picks, src/model/score.ts) and the exact
 * K/V bytes per token (all layers, codes + scales + residual) at the answer position.
 */
import type { KVStorage } from '../src/cache/storage-spec.js';
import { avWorldSamples } from '../src/datasets/av-world/index.js';
import { Decoder } from '../src/model/decoder.js';
import type { Model } from '../src/model/model.js';
import { prepareSample, scorePrefilled, type PreparedSample } from '../src/model/score.js';
import { klCells, softmax, summariseKL } from './_kl-table.js';

export interface LabelledStorage {
  label: string;
  storage: KVStorage;
}

/** What one storage gives at one sample's answer position. */
interface AnswerPoint {
  /** Next-token distribution [vocab]. */
  dist: Float64Array;
  correct: boolean;
  /** K/V bytes (all layers) ÷ cached tokens. */
  bytesPerToken: number;
}

function answerPoint(model: Model, prepared: PreparedSample, storage: KVStorage): AnswerPoint {
  const dec = new Decoder(model);
  const seq = dec.open({ storage });
  let logits = dec.prefill(seq, prepared.head);
  for (const id of prepared.tail) logits = dec.decodeOne(seq, id);
  const bytesPerToken = seq.session.bytes().kvBytes / seq.length;
  const scores = scorePrefilled(dec, { ...prepared, tail: [] }, seq, logits);
  return { dist: softmax(logits), correct: scores.predicted === prepared.sample.answer, bytesPerToken };
}

export interface OrganismTable {
  /** Header and rows of the Markdown table (f32 first). */
  rows: string[];
  /** Mean prompt tokens per sample. */
  meanTokens: number;
  seconds: number;
}

/** The table for `count` test samples of an av-world preset (seed 0), f32 plus each storage. */
export function organismStorageTable(model: Model, preset: string, count: number, storages: readonly LabelledStorage[]): OrganismTable {
  const t0 = performance.now();
  const samples = avWorldSamples({ preset: preset as 'default', split: 'test', count, seed: 0 });
  const all: LabelledStorage[] = [{ label: 'f32', storage: 'f32' }, ...storages];
  const points = all.map((): AnswerPoint[] => []);
  let tokens = 0;
  for (const sample of samples) {
    const prepared = prepareSample(model, sample, true);
    tokens += prepared.head.n + prepared.tail.length;
    all.forEach(({ storage }, i) => points[i]!.push(answerPoint(model, prepared, storage)));
  }
  const ref = points[0]!;
  const refBytes = mean(ref.map((p) => p.bytesPerToken));
  const rows = [`| storage | KL mean (nats) | KL p99 | KL max | argmax changed | accuracy | K/V bytes per token | vs f32 |`, `|---|---|---|---|---|---|---|---|`];
  all.forEach(({ label }, i) => {
    const run = points[i]!;
    const s = summariseKL(ref.map((p) => p.dist), run.map((p) => p.dist));
    const bytes = mean(run.map((p) => p.bytesPerToken));
    const acc = run.filter((p) => p.correct).length / run.length;
    rows.push(`| ${label} | ${i === 0 ? '0 | 0 | 0 | 0 %' : klCells(s)} | ${acc.toFixed(3)} | ${bytes.toFixed(1)} | ${(bytes / refBytes).toFixed(3)} |`);
  });
  return { rows, meanTokens: tokens / samples.length, seconds: (performance.now() - t0) / 1000 };
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
