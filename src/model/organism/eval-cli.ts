/**
 * `tsx src/model/organism/eval-cli.ts [--model DIR --count N --preset default]`: full-cache
 * accuracy per family, the eviction check (random / StreamingLLM / SnapKV / query-aware SnapKV
 * at 10 % and 20 % of the media prefix, protocol in eviction-eval.ts) and the attention mass
 * by modality per layer (table + SVG/PNG plot). Writes DIR/eval/{results.json,attention-mass.*}.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { avWorldSamples } from '../../datasets/av-world/index.js';
import { MODALITIES } from '../../cache/modality.js';
import { writeChart } from '../../runner/report/render.js';
import { OrtKernels } from './ort-kernels.js';
import { loadOrganism } from './hf-folder.js';
import { accuracyReport, formatAccuracy } from './evaluate.js';
import { EVICTION_POLICIES, evictionSweep } from './eviction-eval.js';
import { attentionMassByModality, massTable } from './attention-mass.js';

async function main(): Promise<void> {
  const argv = await yargs(hideBin(process.argv))
    .option('model', { type: 'string', default: 'models/av-organism' })
    .option('preset', { type: 'string', default: 'default', choices: ['tiny', 'default', 'long'] })
    .option('count', { type: 'number', default: 120 })
    .option('seed', { type: 'number', default: 0 })
    .option('ratios', { type: 'string', default: '0.1,0.2' })
    .option('threads', { type: 'number', default: 2 })
    .option('card', { type: 'boolean', default: false, describe: 'also write the tables into the model card (README.md)' })
    .strict()
    .parse();
  const { model, vocab } = loadOrganism(argv.model);
  const k = await OrtKernels.create(argv.threads);
  const samples = avWorldSamples({ preset: argv.preset as 'default', split: 'test', count: argv.count, seed: argv.seed });
  const results: Record<string, unknown> = { preset: argv.preset, count: argv.count, seed: argv.seed, protocol: 'prefill media → compress → question over the compressed cache' };
  const ratios = argv.ratios.split(',').map(Number);
  if (ratios.some((r) => !(r >= 0 && r <= 1))) throw new RangeError(`--ratios must be comma-separated numbers in [0, 1]; got ${argv.ratios}`);
  const sweep = await evictionSweep(k, model, vocab, samples, EVICTION_POLICIES, ratios, argv.seed);
  const full = accuracyReport(sweep.get('full')!);
  console.log(`full cache: ${formatAccuracy(full)}`);
  const rows = [`| policy | ${ratios.map((r) => `${Math.round(100 * r)} %`).join(' | ')} |`, `|---|${ratios.map(() => '---|').join('')}`, `| full cache | ${ratios.map(() => `${(100 * full.overall).toFixed(1)}`).join(' | ')} |`];
  const eviction: Record<string, Record<string, unknown>> = {};
  for (const policy of EVICTION_POLICIES) {
    const cells: string[] = [];
    for (const r of ratios) {
      const rep = accuracyReport(sweep.get(`${policy}@${r}`)!);
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
  if (argv.card) updateCard(join(argv.model, 'README.md'), `${rows.join('\n')}`, massTable(mass), argv.count, argv.preset, `tsx src/model/organism/eval-cli.ts ${process.argv.slice(2).join(' ')}`);
}

const MARK = '<!-- eval-cli -->';

/** Replaces the card's generated evaluation section (after MARK) with fresh tables. */
function updateCard(file: string, accuracy: string, mass: string, count: number, preset: string, command: string): void {
  const card = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const head = card.includes(MARK) ? card.slice(0, card.indexOf(MARK)) : `${card.trimEnd()}\n\n`;
  writeFileSync(file, `${head}${MARK}
## Eviction check (organism harness)
Command: \`${command}\`. Protocol: prefill the media, compress, then read the question over the
compressed cache (equivalent attention masking, \`src/model/organism/eviction-eval.ts\`); budget =
share of the media prefix kept per layer and KV head. Accuracy (%), ${count} test samples, preset ${preset}:

${accuracy}

## Attention mass of the question tokens by key modality (full cache)
${mass}

Plot: \`eval/attention-mass.svg\` (and .png).
`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
