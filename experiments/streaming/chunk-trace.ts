/**
 * `npx tsx experiments/streaming/chunk-trace.ts [--preset long] [--budget 0.1] [--every 10] [--out FILE]`:
 * the KV bytes a streamed prefill holds, chunk by chunk (one video frame with its audio per
 * chunk), for each policy of the quickstart on the first test clip of the preset. Prints, for
 * every `--every`-th chunk and the last, the bytes before and after the policy holds the cache
 * at budget, and per policy the peak and the budget's bytes (the budget resolved against the
 * whole context, as the runner's streaming protocol does). Writes the same as Markdown to --out.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { avWorldSamples } from '../../src/datasets/av-world/index.js';
import { selectBackend } from '../../src/attention/select-backend.js';
import { Decoder, type ChunkReport } from '../../src/model/decoder.js';
import { loadModel, kvBytesPerToken } from '../../src/model/model.js';
import { createPolicy } from '../../src/model/policy-for-model.js';
import { chunkEnds } from '../../src/model/prefill-chunks.js';
import { prepareSample } from '../../src/model/score.js';
import { resolveModelDir } from '../../src/runner/run-experiment.js';

const POLICIES = ['streaming-llm', 'h2o', 'snapkv', 'pyramidkv', 'look-m', 'acckv', 'flowmm', 'retentivekv'];

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'long' },
    budget: { type: 'string', default: '0.1' },
    every: { type: 'string', default: '10' },
    out: { type: 'string' },
  },
});
const ratio = Number(values.budget);
const every = Number(values.every);
if (!(ratio > 0 && ratio <= 1)) throw new RangeError(`--budget must be a ratio in (0, 1]; got ${values.budget}`);
if (!Number.isInteger(every) || every < 1) throw new RangeError(`--every must be an integer ≥ 1; got ${values.every}`);

const model = loadModel(resolveModelDir('organism', '.'), { backend: selectBackend('auto', { threads: 2 }) });
const sample = avWorldSamples({ preset: values.preset as 'long', split: 'test', count: 1 })[0]!;
// The streaming protocol holds the question back: the stream is the context alone.
const { head } = prepareSample(model, sample, false);
const ends = chunkEnds(head, 'frame');
const perToken = kvBytesPerToken(model.config);
const budgetBytes = Math.round(ratio * head.n) * perToken;
const kib = (b: number): string => (b / 1024).toFixed(1);

const traces = new Map<string, ChunkReport[]>();
for (const name of POLICIES) {
  const decoder = new Decoder(model);
  const seq = decoder.open({ policy: createPolicy(model, name), budget: { ratio }, queryAware: false });
  const reports: ChunkReport[] = [];
  decoder.prefill(seq, head, { ends, hold: true, onChunk: (r) => reports.push(r) });
  traces.set(name, reports);
}

const lines: string[] = [];
lines.push(`# Streamed prefill, chunk by chunk: av-world ${values.preset} test clip ${sample.id}`);
lines.push('');
lines.push(`Context ${head.n} tokens in ${ends.length} chunks (one video frame with its audio each); budget ${ratio * 100} % of the context = ${Math.round(ratio * head.n)} tokens = ${kib(budgetBytes)} KiB of K/V (f32); the full context is ${kib(head.n * perToken)} KiB.`);
lines.push(`KiB of K/V held after each chunk arrives (before → after the policy holds the cache at budget); every ${every}th chunk and the last.`);
lines.push('');
lines.push(`| chunk | tokens so far | ${POLICIES.join(' | ')} |`);
lines.push(`|---:|---:|${POLICIES.map(() => '---:').join('|')}|`);
for (let i = 0; i < ends.length; i++) {
  if (i % every !== 0 && i !== ends.length - 1) continue;
  const cells = POLICIES.map((p) => {
    const r = traces.get(p)![i]!;
    return r.kvBytesAfter === r.kvBytesBefore ? kib(r.kvBytesBefore) : `${kib(r.kvBytesBefore)} → ${kib(r.kvBytesAfter)}`;
  });
  lines.push(`| ${i} | ${ends[i]} | ${cells.join(' | ')} |`);
}
lines.push('');
lines.push('| policy | peak KiB | peak ÷ budget | chunks over budget after holding |');
lines.push('|---|---:|---:|---:|');
for (const p of POLICIES) {
  const r = traces.get(p)!;
  const peak = Math.max(...r.map((x) => x.kvBytesBefore));
  // The last chunk is compressed by endPrefill (after this trace), so it is not counted.
  const over = r.slice(0, -1).filter((x) => x.kvBytesAfter > budgetBytes).length;
  lines.push(`| ${p} | ${kib(peak)} | ${(peak / budgetBytes).toFixed(3)} | ${over} |`);
}
const text = `${lines.join('\n')}\n`;
process.stdout.write(text);
if (values.out) writeFileSync(values.out, text);
