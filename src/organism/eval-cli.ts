/**
 * `tsx src/organism/eval-cli.ts [--model DIR --count N --preset default --card]`: the
 * eviction check through the project's real runtime (loadModel → scoreChoices over a cache
 * session that physically compacts at the end of the prefill, catalogue policies via
 * createPolicy), full-cache accuracy per family, and the attention mass by modality per layer
 * (table + SVG/PNG plot). Writes DIR/eval/{results.json,attention-mass.*}.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TopLevelSpec } from 'vega-lite';
import { avWorldSamples } from '../datasets/av-world/index.js';
import { MODALITIES } from '../cache/modality.js';
import { selectBackend, type BackendChoice } from '../attention/select-backend.js';
import { writeChart } from '../util/chart.js';
import { Decoder } from '../model/decoder.js';
import { loadModel, type Model } from '../model/model.js';
import type { QASample } from '../model/prompt.js';
import { createPolicy } from '../model/policy-for-model.js';
import { scoreChoices } from '../model/score.js';
import type { RuntimeSessionOptions } from '../model/sequence.js';
import { OrtKernels } from './ort-kernels.js';
import { loadOrganism } from './hf-folder.js';
import { accuracyReport, formatAccuracy, type AccuracyReport, type ScoredSample } from './evaluate.js';
import { attentionMassByModality, massTable } from './attention-mass.js';

/** One cell of the sweep: a catalogue policy (null = full cache) at a budget ratio. */
export interface EvictionSetting {
  /** Table row, e.g. 'snapkv (query-agnostic)'. */
  row: string;
  policy: string | null;
  /** Share of the compressed prefix kept (absent for the full cache). */
  ratio?: number;
  /** false: the whole trailing question is held back, so the policy compresses without it. */
  queryAware: boolean;
}

/** The full cache, then random, StreamingLLM, SnapKV query-aware and query-agnostic per ratio. */
export function evictionSettings(ratios: readonly number[]): EvictionSetting[] {
  const rows: Omit<EvictionSetting, 'ratio'>[] = [
    { row: 'random', policy: 'random', queryAware: true },
    { row: 'streaming-llm', policy: 'streaming-llm', queryAware: true },
    { row: 'snapkv (query-aware)', policy: 'snapkv', queryAware: true },
    { row: 'snapkv (query-agnostic)', policy: 'snapkv', queryAware: false },
  ];
  return [{ row: 'full cache', policy: null, queryAware: true }, ...rows.flatMap((r) => ratios.map((ratio) => ({ ...r, ratio })))];
}

export const settingKey = (s: EvictionSetting): string => (s.ratio === undefined ? s.row : `${s.row}@${s.ratio}`);

export interface SettingResult {
  setting: EvictionSetting;
  scored: ScoredSample[];
  /** Per sample, the K/V bytes of the session after the answer was read (session.bytes().kvBytes). */
  kvBytes: number[];
}

/**
 * Scores every sample under every setting with the real runtime. The policy and the session
 * are seeded per (seed, sample index), so random eviction is reproducible per seed.
 */
export function runtimeEvictionSweep(model: Model, samples: readonly QASample[], settings: readonly EvictionSetting[], seed = 0, onSample?: (done: number) => void): Map<string, SettingResult> {
  const out = new Map<string, SettingResult>(settings.map((s) => [settingKey(s), { setting: s, scored: [], kvBytes: [] }]));
  const decoder = new Decoder(model);
  samples.forEach((sample, i) => {
    const sampleSeed = seed * 1_000_003 + i;
    for (const s of settings) {
      const options: RuntimeSessionOptions = { queryAware: s.queryAware, seed: sampleSeed };
      if (s.policy !== null) Object.assign(options, { policy: createPolicy(model, s.policy, {}, sampleSeed), budget: { ratio: s.ratio ?? 1 } });
      const r = scoreChoices(model, sample, options, decoder);
      const res = out.get(settingKey(s))!;
      res.scored.push({ id: sample.id, family: sample.family, predicted: r.predicted, answer: sample.answer, scores: r.logProbs });
      res.kvBytes.push(r.sequence.session.bytes().kvBytes);
    }
    onSample?.(i + 1);
  });
  return out;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** Markdown tables: accuracy (%) and mean K/V bytes relative to the full cache, per policy row × ratio. */
export function sweepTables(sweep: Map<string, SettingResult>, ratios: readonly number[]): { accuracy: string; bytes: string; fullAccuracy: number } {
  const full = sweep.get('full cache')!;
  const fullAccuracy = accuracyReport(full.scored).overall;
  const fullAcc = (100 * fullAccuracy).toFixed(1);
  const fullBytes = mean(full.kvBytes);
  const head = `| policy | ${ratios.map((r) => `${Math.round(100 * r)} %`).join(' | ')} |\n|---|${ratios.map(() => '---|').join('')}`;
  const acc = [head, `| full cache | ${ratios.map(() => fullAcc).join(' | ')} |`];
  const bytes = [head, `| full cache | ${ratios.map(() => '100.0 %').join(' | ')} |`];
  const rows = [...new Set([...sweep.values()].filter((r) => r.setting.policy !== null).map((r) => r.setting.row))];
  for (const row of rows) {
    const cells = ratios.map((ratio) => sweep.get(`${row}@${ratio}`)!);
    acc.push(`| ${row} | ${cells.map((c) => (100 * accuracyReport(c.scored).overall).toFixed(1)).join(' | ')} |`);
    bytes.push(`| ${row} | ${cells.map((c) => `${((100 * mean(c.kvBytes)) / fullBytes).toFixed(1)} %`).join(' | ')} |`);
  }
  return { accuracy: acc.join('\n'), bytes: bytes.join('\n'), fullAccuracy };
}

async function main(): Promise<void> {
  const argv = await yargs(hideBin(process.argv))
    .option('model', { type: 'string', default: 'models/av-organism' })
    .option('preset', { type: 'string', default: 'default', choices: ['tiny', 'default', 'long'] })
    .option('count', { type: 'number', default: 120 })
    .option('seed', { type: 'number', default: 0 })
    .option('ratios', { type: 'string', default: '0.1,0.2' })
    .option('backend', { type: 'string', default: 'auto', choices: ['auto', 'ts', 'cpu', 'cuda'] })
    .option('threads', { type: 'number', default: 2 })
    .option('card', { type: 'boolean', default: false, describe: 'also write the tables into the model card (README.md)' })
    .strict()
    .parse();
  const ratios = argv.ratios.split(',').map(Number);
  if (ratios.some((r) => !(r > 0 && r <= 1))) throw new RangeError(`--ratios must be comma-separated numbers in (0, 1]; got ${argv.ratios}`);
  if (!Number.isInteger(argv.count) || argv.count < 1) throw new RangeError(`--count must be an integer ≥ 1; got ${argv.count}`);
  const runtime = loadModel(argv.model, { backend: selectBackend(argv.backend as BackendChoice, { threads: argv.threads }) });
  const samples = avWorldSamples({ preset: argv.preset as 'default', split: 'test', count: argv.count, seed: argv.seed });
  const t0 = performance.now();
  const sweep = runtimeEvictionSweep(runtime, samples, evictionSettings(ratios), argv.seed, (d) => {
    if (d % 10 === 0 || d === samples.length) console.log(`${d}/${samples.length} samples (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  });
  const eviction: Record<string, { accuracy: AccuracyReport; meanKvBytes: number }> = {};
  for (const [key, r] of sweep) {
    eviction[key] = { accuracy: accuracyReport(r.scored), meanKvBytes: mean(r.kvBytes) };
    console.log(`${key}: ${formatAccuracy(eviction[key].accuracy)} | KV ${(mean(r.kvBytes) / 1024).toFixed(0)} KiB`);
  }
  const tables = sweepTables(sweep, ratios);
  const { model, vocab } = loadOrganism(argv.model);
  const k = await OrtKernels.create(argv.threads);
  const mass = await attentionMassByModality(k, model, vocab, samples.slice(0, Math.min(30, samples.length)));
  console.log(`\naccuracy (%), ${argv.count} test samples, preset ${argv.preset}:\n${tables.accuracy}\n\nK/V bytes vs full cache:\n${tables.bytes}\n\nattention mass of question tokens by key modality:\n${massTable(mass)}`);
  const results = {
    preset: argv.preset, count: argv.count, seed: argv.seed, backend: runtime.backend.name,
    protocol: 'loadModel + scoreChoices: prefill the prompt head, compress (physical compaction), decode the held-back tail over the compressed cache; budget = ratio of the whole compressed prefix',
    full: eviction['full cache']!.accuracy, eviction, attentionMass: mass, accuracyTable: tables.accuracy, bytesTable: tables.bytes, massTable: massTable(mass),
  };
  const dir = join(argv.model, 'eval');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'results.json'), `${JSON.stringify(results, null, 1)}\n`);
  const values = mass.mass.flatMap((row, layer) => row.map((m, mi) => ({ layer, modality: MODALITIES[mi]!, mass: m })).filter((v) => v.mass > 0));
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 240, height: 220, title: 'av-organism: question attention mass by key modality',
    data: { values }, mark: 'bar',
    encoding: {
      x: { field: 'layer', type: 'ordinal', title: 'layer', axis: { labelAngle: 0 } },
      y: { field: 'mass', type: 'quantitative', stack: 'normalize', title: 'share of attention mass' },
      color: { field: 'modality', type: 'nominal', sort: [...MODALITIES], title: 'key modality' },
    },
  };
  await writeChart(spec, join(dir, 'attention-mass'));
  console.log(`wrote ${dir}/results.json and attention-mass.{svg,png}`);
  if (argv.card) updateCard(join(argv.model, 'README.md'), tables, massTable(mass), argv.count, argv.preset, `tsx src/organism/eval-cli.ts ${process.argv.slice(2).join(' ')}`);
}

const MARK = '<!-- eval-cli -->';

/** One binomial standard error of an accuracy p ∈ [0, 1] over n samples, in percentage points. */
const stdErrPoints = (p: number, n: number): string => (100 * Math.sqrt((p * (1 - p)) / n)).toFixed(1);

/** Replaces the card's generated evaluation section (after MARK) with fresh tables. */
function updateCard(file: string, tables: { accuracy: string; bytes: string; fullAccuracy: number }, mass: string, count: number, preset: string, command: string): void {
  const card = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const head = card.includes(MARK) ? card.slice(0, card.indexOf(MARK)) : `${card.trimEnd()}\n\n`;
  writeFileSync(file, `${head}${MARK}
## Eviction check (project runtime)
Command: \`${command}\` (${count} test samples, preset ${preset}).
Protocol: the model is loaded with the project runtime (\`loadModel\`) and each sample is scored by
\`scoreChoices\` (src/model/score.ts): the prompt's head is prefilled, the catalogue policy
(\`createPolicy\`) compresses the cache at the end of the prefill (physical compaction), and the
held-back tail is decoded over the compressed cache, so the one-word answer is read from the
compressed cache. Query-aware: only the last token is held back, the question is inside the
compressed prefix. Query-agnostic: the whole trailing question is held back, so the policy
compresses the audio-video context without seeing it. **Budget = ratio of the whole compressed
prefix** (BOS + media, plus the question when query-aware), per layer and KV head — not of the
media alone.

Accuracy (%), ${count} test samples, preset ${preset} (binomial standard error ≈ ${stdErrPoints(tables.fullAccuracy, count)} points
at the full-cache accuracy, so differences smaller than about twice that are noise):

${tables.accuracy}

Mean K/V bytes held after the answer was read (\`session.bytes().kvBytes\`), relative to the full cache:

${tables.bytes}

## Attention mass of the question tokens by key modality (full cache)
${mass}

Plot: \`eval/attention-mass.svg\` (and .png).
`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}
