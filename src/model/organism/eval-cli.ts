/**
 * `tsx src/model/organism/eval-cli.ts [--model DIR --count N --preset default]`: full-cache
 * accuracy per family, the eviction check (random / StreamingLLM / SnapKV / query-aware SnapKV
 * at 10 % and 20 % of the media prefix, protocol in eviction-eval.ts) and the attention mass
 * by modality per layer (table + SVG/PNG plot). Writes DIR/eval/{results.json,attention-mass.*}.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { avWorldSamples } from '../../datasets/av-world/index.js';
import { MODALITIES } from '../../cache/modality.js';
import { writeChart } from '../../runner/report/render.js';
import { OrtKernels } from './ort-kernels.js';
import { loadOrganism } from './hf-folder.js';
import { accuracyReport, formatAccuracy } from './evaluate.js';
import { EVICTION_POLICIES, scoreWithEviction } from './eviction-eval.js';
import { attentionMassByModality, massTable } from './attention-mass.js';

async function main(): Promise<void> {
  const argv = await yargs(hideBin(process.argv))
    .option('model', { type: 'string', default: 'models/av-organism' })
    .option('preset', { type: 'string', default: 'default', choices: ['tiny', 'default', 'long'] })
    .option('count', { type: 'number', default: 120 })
    .option('seed', { type: 'number', default: 0 })
    .option('ratios', { type: 'string', default: '0.1,0.2' })
    .option('threads', { type: 'number', default: 2 })
    .strict()
    .parse();
  const { model, vocab } = loadOrganism(argv.model);
  const k = await OrtKernels.create(argv.threads);
  const samples = avWorldSamples({ preset: argv.preset as 'default', split: 'test', count: argv.count, seed: argv.seed });
  const results: Record<string, unknown> = { preset: argv.preset, count: argv.count, seed: argv.seed, protocol: 'prefill media → compress → question over the compressed cache' };
  const full = accuracyReport(await scoreWithEviction(k, model, vocab, samples, 'full', 1));
  console.log(`full cache: ${formatAccuracy(full)}`);
  const rows = [`| policy | ${argv.ratios.split(',').map((r) => `${Math.round(100 * Number(r))} %`).join(' | ')} |`, `|---|${argv.ratios.split(',').map(() => '---|').join('')}`, `| full cache | ${argv.ratios.split(',').map(() => `${(100 * full.overall).toFixed(1)}`).join(' | ')} |`];
  const eviction: Record<string, Record<string, unknown>> = {};
  for (const policy of EVICTION_POLICIES) {
    const cells: string[] = [];
    for (const r of argv.ratios.split(',').map(Number)) {
      const rep = accuracyReport(await scoreWithEviction(k, model, vocab, samples, policy, r, argv.seed));
      (eviction[policy] ??= {})[String(r)] = rep;
      cells.push((100 * rep.overall).toFixed(1));
      console.log(`${policy} @ ${r}: ${formatAccuracy(rep)}`);
    }
    rows.push(`| ${policy} | ${cells.join(' | ')} |`);
  }
  const mass = await attentionMassByModality(k, model, vocab, samples.slice(0, Math.min(30, samples.length)));
  console.log(`\naccuracy (%), ${argv.count} test samples, preset ${argv.preset}:\n${rows.join('\n')}\n\nattention mass of question tokens by key modality:\n${massTable(mass)}`);
  Object.assign(results, { full, eviction, attentionMass: mass, accuracyTable: rows.join('\n'), massTable: massTable(mass) });
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
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
