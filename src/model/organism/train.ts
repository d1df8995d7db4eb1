/**
 * The organism's training loop: curriculum over clip length, packed multi-question
 * sequences, loss on answer tokens only, AdamW with warmup + cosine decay, periodic
 * validation and checkpoints (a long run is never lost), then a test evaluation.
 */
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { avWorldSamples, worldVocabulary, VIDEO_FEATURE_DIM, audioFeatureDim, PRESETS, Rng } from '../../datasets/av-world/index.js';
import { DEFAULT_ARCH, type OrganismConfig } from './config.js';
import { initParams, zerosLike, type Params } from './params.js';
import { OrtKernels } from './ort-kernels.js';
import { forward, crossEntropy, type Organism } from './forward.js';
import { backward } from './backward.js';
import { Adam } from './adam.js';
import { makeBatch, makeVocabulary } from './sequence.js';
import { curriculumFrames, trainSequence } from './train-data.js';
import { accuracyReport, formatAccuracy, scoreSamples, type AccuracyReport } from './evaluate.js';
import { saveOrganism } from './hf-folder.js';
import { saveSafetensors, loadSafetensors } from './safetensors-io.js';

export interface TrainOptions {
  seed: number;
  steps: number;
  lr: number;
  warmup: number;
  tokensPerBatch: number;
  minFrames: number;
  maxFrames: number;
  rampFraction: number;
  threads: number;
  evalEvery: number;
  evalCount: number;
  testCount: number;
  checkpointEvery: number;
  checkpointDir: string;
  out: string;
  /** Stop early (still evaluating and saving) after this many minutes. */
  timeLimitMin: number;
  /** Weight of the dense media-label loss relative to the answer loss (0 = answers only). */
  auxWeight: number;
  /** Distinct questions per family packed after each clip. */
  questionsPerFamily: number;
  resume?: string;
  arch?: Partial<OrganismConfig>;
}

export interface TrainResult {
  model: Organism;
  steps: number;
  minutes: number;
  validation: AccuracyReport;
  test: AccuracyReport;
}

export function organismConfig(arch: Partial<OrganismConfig> = {}): OrganismConfig {
  const words = worldVocabulary();
  return {
    ...DEFAULT_ARCH, vocab: words.length, bosId: words.indexOf('<s>'), eosId: words.indexOf('</s>'), padId: words.indexOf('<pad>'),
    videoFeatureDim: VIDEO_FEATURE_DIM, audioFeatureDim: audioFeatureDim(PRESETS.default), ...arch,
  };
}

const lrAt = (step: number, o: TrainOptions): number =>
  step < o.warmup ? (o.lr * (step + 1)) / o.warmup : o.lr * (0.1 + 0.45 * (1 + Math.cos((Math.PI * (step - o.warmup)) / Math.max(1, o.steps - o.warmup))));

export async function trainOrganism(o: TrainOptions, log: (line: string) => void = console.log): Promise<TrainResult> {
  const t0 = Date.now();
  const words = worldVocabulary();
  const vocab = makeVocabulary(words);
  const config = organismConfig(o.arch);
  const rng = new Rng(o.seed, 7);
  const params: Params = initParams(config, () => rng.normal());
  const adam = new Adam(params);
  let start = 0;
  if (o.resume) {
    // Exact resume: weights, optimizer moments and step; per-step data streams below.
    const ck = loadSafetensors(o.resume);
    for (const [name, t] of params) {
      const s = ck.params.get(name);
      if (!s || s.data.length !== t.data.length) throw new Error(`${o.resume}: tensor "${name}" is missing or has the wrong size`);
      t.data.set(s.data);
    }
    start = Number(ck.metadata.step ?? 0);
    adam.restore(ck.params, start);
    log(`resumed ${o.resume} at step ${start}`);
  }
  const model: Organism = { config, params };
  const k = await OrtKernels.create(o.threads);
  const checkpoint = (s: number) => saveSafetensors(join(o.checkpointDir, 'checkpoint.safetensors'), new Map([...params, ...adam.state()]), { step: String(s) });
  const valSamples = avWorldSamples({ preset: 'default', split: 'validation', count: o.evalCount, seed: o.seed });
  const evalVal = async () => accuracyReport(await scoreSamples(k, model, vocab, valSamples, 4));
  mkdirSync(o.checkpointDir, { recursive: true });
  const history: Array<Record<string, number>> = [];
  let step = start;
  let lossAvg = 0;
  let accAvg = 0;
  let tokens = 0;
  for (; step < o.steps; step++) {
    if ((Date.now() - t0) / 60000 > o.timeLimitMin) {
      log(`time limit ${o.timeLimitMin} min reached at step ${step}`);
      break;
    }
    // Each step draws from its own stream and clip indices, so a resumed run equals an uninterrupted one.
    const srng = new Rng(o.seed, 1000 + step);
    const frames = curriculumFrames(step, o.steps, srng, o.minFrames, o.maxFrames, o.rampFraction);
    const clipBase = step * 256;
    const aux = o.auxWeight > 0;
    const seqs = [trainSequence(frames, o.seed, clipBase, vocab, srng, aux, o.questionsPerFamily)];
    while ((seqs.length + 1) * seqs[0]!.encoded.n <= o.tokensPerBatch && seqs.length < 256) seqs.push(trainSequence(frames, o.seed, clipBase + seqs.length, vocab, srng, aux, o.questionsPerFamily));
    const batch = makeBatch(seqs.map((s) => s.encoded), seqs.map((s) => s.targets), vocab.pad);
    const f = await forward(k, model, batch);
    const ce = crossEntropy(f.logits, batch.targets, config.vocab, o.auxWeight);
    const grads = zerosLike(params);
    await backward(k, model, batch, f, ce.dlogits, grads);
    const gnorm = adam.update(params, grads, lrAt(step, o));
    tokens += batch.batch * batch.n;
    lossAvg = step === start ? ce.loss : 0.98 * lossAvg + 0.02 * ce.loss;
    accAvg = step === start ? ce.correct / ce.answers : 0.98 * accAvg + 0.02 * (ce.correct / ce.answers);
    if ((step + 1) % 25 === 0) {
      const min = (Date.now() - t0) / 60000;
      log(`step ${step + 1}/${o.steps} frames ${frames} batch ${batch.batch}×${batch.n} loss ${lossAvg.toFixed(3)} acc ${(100 * accAvg).toFixed(1)} |g| ${gnorm.toFixed(2)} lr ${lrAt(step, o).toExponential(2)} ${(tokens / (min * 60)).toFixed(0)} tok/s ${min.toFixed(1)} min`);
      history.push({ step: step + 1, loss: lossAvg, acc: accAvg, minutes: min });
    }
    if ((step + 1) % o.evalEvery === 0) log(`validation @${step + 1}: ${formatAccuracy(await evalVal())}`);
    if ((step + 1) % o.checkpointEvery === 0) checkpoint(step + 1);
  }
  checkpoint(step);
  const validation = await evalVal();
  log(`final validation: ${formatAccuracy(validation)}`);
  const testSamples = avWorldSamples({ preset: 'default', split: 'test', count: o.testCount, seed: 0 });
  const test = accuracyReport(await scoreSamples(k, model, vocab, testSamples, 4));
  log(`test (default preset, seed 0): ${formatAccuracy(test)}`);
  const minutes = (Date.now() - t0) / 60000;
  saveOrganism(o.out, model, words);
  writeFileSync(join(o.checkpointDir, 'history.json'), JSON.stringify(history));
  return { model, steps: step, minutes, validation, test };
}
