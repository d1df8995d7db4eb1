/**
 * `npm run bench -- gemv [--baseline FILE] [--threads N] [--layers N]`: the weight GEMVs of one
 * decode token at the SmolLM2-135M shape (per layer q, k, v, o, gate, up, down; then the tied
 * LM head), each layer with weights of its own so the token streams every byte from memory as
 * decode does, in f32 and bf16. Prints ms per token, GB/s on the weight bytes and the fraction
 * of the read bandwidth measured in the run (the byte limit of the GEMVs).
 *
 * --baseline FILE: another build of the addon (e.g. a copy of build/Release/kvprism.node taken
 * before a kernel change), timed in the same process on the same weights, alternating with the
 * current build round by round, so before and after meet the same load.
 */
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import type { KVDType } from '../src/attention/backend.js';
import { loadAddon, addonLoadError, type NativeAddon } from '../src/attention/native/addon.js';
import { parseModelConfig } from '../src/model/config.js';
import { PRESETS } from '../src/model/presets.js';
import { allocKV } from '../src/util/half.js';
import { randomNormalArray } from '../src/util/random.js';
import { weightBytesPerToken } from './_byte-limit.js';
import { fmt, ratio } from './_timing.js';

interface Weight {
  dtype: KVDType;
  data: Float32Array | Uint16Array;
  outFeatures: number;
  inFeatures: number;
}

/** One token's weights: per layer [out, in] of q, k, v, o, gate, up, down, then the LM head. */
function tokenWeights(layers: number, dtype: KVDType): Weight[] {
  const c = parseModelConfig(PRESETS['smollm2-135m']);
  const h = c.hiddenSize;
  const qd = c.qHeads * c.headDim;
  const kvd = c.kvHeads * c.headDim;
  const shapes: [number, number][] = [];
  for (let l = 0; l < layers; l++) shapes.push([qd, h], [kvd, h], [kvd, h], [h, qd], [c.intermediateSize, h], [c.intermediateSize, h], [h, c.intermediateSize]);
  shapes.push([c.vocabSize, h]);
  // Values do not change the speed: one random row pattern, repeated, keeps setup fast.
  const pattern = randomNormalArray(1 << 16, 5, 0.02);
  return shapes.map(([out, inp]) => {
    const data = allocKV(dtype, out * inp);
    if (dtype === 'f32') for (let i = 0; i < data.length; i += pattern.length) (data as Float32Array).set(pattern.subarray(0, Math.min(pattern.length, data.length - i)), i);
    else for (let i = 0; i < data.length; i++) (data as Uint16Array)[i] = 0x3c00 ^ (i & 0xff);
    return { dtype, data, outFeatures: out, inFeatures: inp };
  });
}

/** ms of one token's GEMVs (x of the right width per weight, m = 1). */
function tokenMs(addon: NativeAddon, weights: Weight[], xs: Map<number, Float32Array>, ys: Map<number, Float32Array>): number {
  const t0 = performance.now();
  for (const w of weights) addon.linear(xs.get(w.inFeatures)!, 1, w, undefined, ys.get(w.outFeatures));
  return performance.now() - t0;
}

function loadBaseline(file: string): NativeAddon {
  try {
    return createRequire(import.meta.url)(file) as NativeAddon;
  } catch (e) {
    throw new Error(`--baseline ${file}: cannot load as the kvprism addon (${(e as Error).message})`);
  }
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { baseline: { type: 'string' }, threads: { type: 'string' }, layers: { type: 'string', default: '30' }, rounds: { type: 'string', default: '7' } } });
  const addon = loadAddon();
  if (!addon) throw new Error(`gemv bench: the native addon is not available (${addonLoadError()}); run \`npm run build:native\``);
  const threads = Number(values.threads ?? addon.info().threads);
  const layers = Number(values.layers);
  const rounds = Number(values.rounds);
  for (const [flag, v] of [['--threads', threads], ['--layers', layers], ['--rounds', rounds]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`gemv bench: ${flag} must be an integer ≥ 1; got ${v}`);
  }
  const engines: [string, NativeAddon][] = [['current', addon]];
  if (values.baseline) engines.push(['baseline', loadBaseline(values.baseline)]);
  for (const [, a] of engines) a.setThreads(threads);
  const config = { ...parseModelConfig(PRESETS['smollm2-135m']), numLayers: layers };
  console.log(`gemv bench: one decode token's weight GEMVs at the SmolLM2-135M shape (${layers} layers + LM head), ${threads} threads, ${addon.info().isa}, median of ${rounds} rounds`);
  console.log('| weights | build | ms / token | weight MB | GB/s | read GB/s | of byte limit | current ÷ baseline |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const dtype of ['f32', 'bf16'] as const) {
    const weights = tokenWeights(layers, dtype);
    const bytes = weightBytesPerToken(config, dtype === 'f32' ? 4 : 2);
    const xs = new Map(weights.map((w) => [w.inFeatures, randomNormalArray(w.inFeatures, w.inFeatures)]));
    const ys = new Map(weights.map((w) => [w.outFeatures, new Float32Array(w.outFeatures)]));
    const times = new Map<string, number[]>(engines.map(([name]) => [name, []]));
    const reads: number[] = [];
    for (const [, a] of engines) tokenMs(a, weights, xs, ys);
    // Round robin: each round times every build once, so a load change hits both.
    for (let r = 0; r < rounds; r++) {
      reads.push(addon.streamRead(256, 1));
      for (const [name, a] of engines) times.get(name)!.push(tokenMs(a, weights, xs, ys));
    }
    const median = (x: number[]): number => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)]!;
    const readGb = median(reads);
    const currentMs = median(times.get('current')!);
    for (const [name] of engines) {
      const ms = median(times.get(name)!);
      const gb = bytes / (ms * 1e6);
      console.log(`| ${dtype} | ${name} | ${fmt(ms, 2)} | ${fmt(bytes / 1e6, 1)} | ${fmt(gb, 2)} | ${fmt(readGb, 2)} | ${fmt(gb / readGb, 2)} | ${name === 'baseline' ? `${fmt(ratio(ms, currentMs), 2)}×` : '–'} |`);
    }
  }
  console.log('\ncurrent ÷ baseline: baseline ms ÷ current ms (> 1: the current build is faster). weight MB counts norms too, which the GEMVs do not read (< 0.1 %).');
}
