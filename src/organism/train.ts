/**
 * The organism's training loop: curriculum over clip length, packed multi-question
 * sequences, loss on answer tokens only, AdamW with warmup + cosine decay, periodic
 * validation and checkpoints (a long run is never lost), then a test evaluation.
 */
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { avWorldSamples, worldVocabulary, VIDEO_FEATURE_DIM, audioFeatureDim, PRESETS, Rng, type Family } from '../datasets/av-world/index.js';
import { DEFAULT_ARCH, type OrganismConfig } from './config.js';
import { initParams, zerosLike, QUESTION_PROBE, READOUT_PROBE, type Params } from './params.js';
import { warmStart } from './warm-start.js';
import { OrtKernels } from './ort-kernels.js';
import { forward, crossEntropy, type Organism } from './forward.js';
import { backward, type HeadProbe, type HeadSupervision } from './backward.js';
import type { Batch, Vocabulary } from './sequence.js';
import { Adam } from './adam.js';
import { makeBatch, makeVocabulary } from './sequence.js';
import { curriculumFrames, trainSequence, type AbsentEvidence, type AttentionKind, type ExistsBy, type TrainSequence } from './train-data.js';
import { accuracyReport, formatAccuracy, scoreSamples, type AccuracyReport } from './evaluate.js';
import { saveOrganism } from './hf-folder.js';
import { saveSafetensors, loadSafetensors } from './safetensors-io.js';

export interface TrainOptions {
  seed: number;
  /** Steps the schedule (warmup, cosine decay, curriculum) is planned over. */
  steps: number;
  /** Stop after this step (default: steps): the first part of a longer schedule. */
  stopAt?: number;
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
  /** Per-family overrides of questionsPerFamily (e.g. { 'object-exists': 10 }). */
  familyQuestions?: Partial<Record<Family, number>>;
  resume?: string;
  /**
   * Warm start: weights (and the readout probe) from a checkpoint .safetensors, with a fresh
   * optimizer, step count and schedule; a second stage that fine-tunes a trained organism.
   */
  init?: string;
  /** The command that produced `init`, for the model card. */
  initCommand?: string;
  /**
   * Decoder layers that keep their fresh initialisation under `init` (every tensor of
   * model.layers.L): a stage that relearns those layers from the inherited ones below.
   */
  reinitLayers?: number[];
  /** Dense "moved" labels on the mover's patches (see motionTargets in train-data.ts). */
  motionLabels?: boolean;
  /** Where object-exists "no" answers are supervised to look (see AbsentEvidence; default 'none'). */
  absentEvidence?: AbsentEvidence;
  /** Counting questions: attention spread evenly over `<s>` and the onsets (see SequenceOptions). */
  uniformCount?: boolean;
  /** The question head reads the question's content words evenly (see SequenceOptions). */
  uniformQuestion?: boolean;
  /** How object-exists questions are read: the object, or its colour then shape (see ExistsBy; default 'object'). */
  existsBy?: ExistsBy;
  /**
   * Last-layer head whose attention and readout probe serve a family's answer rows (default:
   * `answerHead` for every family). Giving a family its own head frees its query/key space
   * from the other families' retrieval.
   */
  familyHeads?: Partial<Record<Family, number>>;
  arch?: Partial<OrganismConfig>;
  /**
   * Weight of the attention-supervision losses (0 = off): the answer row's head
   * `answerHead` of the last layer reads the question's evidence tokens, and its head
   * `questionHead` of layer `questionLayer` the question's content words; sound-event tokens'
   * head `bindHead` of layer `bindLayer` reads the patch of the object making the sound.
   */
  attentionWeight: number;
  answerHead?: number;
  questionLayer?: number;
  questionHead?: number;
  bindLayer?: number;
  bindHead?: number;
  /** Weight of the readout probe on the answer head's output (0 = off; see readout-probe.ts). */
  probeWeight?: number;
  /**
   * Weight of the question probe (0 = off): a training-only linear map from the question
   * head's output at each answer row to every attribute word the question names, so that
   * head's value projection carries the asked words into the answer row's query.
   */
  questionProbeWeight?: number;
  /** Predict the aux labels with a training-only head instead of lm_head (see params.ts). */
  separateAuxHead?: boolean;
  /** Train on these question families only (default: all). */
  families?: readonly Family[];
}

/** A finished training loop: the weights in memory and in `checkpointDir/checkpoint.safetensors`. */
export interface TrainedStage {
  model: Organism;
  steps: number;
  minutes: number;
  kernels: OrtKernels;
}

export interface TrainResult {
  model: Organism;
  steps: number;
  minutes: number;
  validation: AccuracyReport;
  test: AccuracyReport;
}

/** What a finished loop leaves beside its checkpoint, so a rerun recipe can skip the stage. */
export const STAGE_DONE = 'stage.json';

/** Running per-family accuracy of the answer targets (`hits` from crossEntropy, aligned with `families`). */
class FamilyAccuracy {
  private counts = new Map<string, { ok: number; n: number }>();
  add(families: readonly string[], hits: readonly boolean[]): void {
    hits.forEach((hit, a) => {
      const c = this.counts.get(families[a]!) ?? { ok: 0, n: 0 };
      c.n++;
      if (hit) c.ok++;
      this.counts.set(families[a]!, c);
    });
  }
  format(): string {
    return [...this.counts].sort().map(([f, c]) => `${f} ${((100 * c.ok) / c.n).toFixed(0)}`).join(' | ');
  }
  reset(): void {
    this.counts.clear();
  }
}

const answerHeadOf = (family: Family, o: TrainOptions): number => o.familyHeads?.[family] ?? o.answerHead ?? 0;

/**
 * The supervised heads of a batch: answer rows → evidence (one entry per last-layer head in
 * use), answer rows → question words, sound tokens → source patch.
 */
function headSupervision(seqs: readonly TrainSequence[], n: number, c: OrganismConfig, o: TrainOptions): HeadSupervision[] {
  if (o.attentionWeight <= 0) return [];
  const targets = (kind: AttentionKind) => seqs.flatMap((s, b) => s.attention.filter((t) => t.kind === kind).map((t) => ({ t, b })));
  const rows = (list: ReturnType<typeof targets>) => list.map(({ t, b }) => ({ row: b * n + t.row, evidence: t.evidence.map((e) => b * n + e), uniform: t.uniform }));
  const answers = targets('answer');
  const heads = [...new Set([o.answerHead ?? 0, ...answers.map(({ t }) => answerHeadOf(t.family!, o))])].sort((a, b) => a - b);
  return [
    ...heads.map((head) => ({ name: `answer h${head}`, layer: c.layers - 1, head, weight: o.attentionWeight, rows: rows(answers.filter(({ t }) => answerHeadOf(t.family!, o) === head)) })),
    { name: 'bind', layer: Math.min(o.bindLayer ?? 1, c.layers - 1), head: o.bindHead ?? 1, weight: o.attentionWeight, rows: rows(targets('bind')) },
    { name: 'question', layer: Math.min(o.questionLayer ?? 0, c.layers - 1), head: o.questionHead ?? 2, weight: o.attentionWeight, rows: rows(targets('question')) },
  ];
}

/** The readout probe at the answer rows, each reading its family's answer head. */
function answerProbe(answers: Batch['targets'], families: readonly Family[], labels: readonly number[], c: OrganismConfig, o: TrainOptions): HeadProbe {
  if (answers.length !== families.length || labels.length !== families.length) throw new Error(`organism:train: ${answers.length} answer targets, ${families.length} question families and ${labels.length} probe labels in the batch`);
  return { param: READOUT_PROBE, layer: c.layers - 1, weight: o.probeWeight ?? 0, rows: answers.map((t) => t.row), labels: [...labels], heads: families.map((f) => answerHeadOf(f, o)) };
}

/** The question probe at the answer rows: one entry per attribute word the question names. */
function questionProbe(answers: Batch['targets'], asked: readonly number[][], c: OrganismConfig, o: TrainOptions): HeadProbe {
  if (answers.length !== asked.length) throw new Error(`organism:train: ${answers.length} answer targets but ${asked.length} questions' asked words in the batch`);
  const pairs = answers.flatMap((t, i) => asked[i]!.map((w) => [t.row, w] as const));
  const head = o.questionHead ?? 2;
  return { param: QUESTION_PROBE, layer: Math.min(o.questionLayer ?? 0, c.layers - 1), weight: o.questionProbeWeight ?? 0, rows: pairs.map(([r]) => r), labels: pairs.map(([, w]) => w), heads: pairs.map(() => head) };
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

/** Accuracy on the first `evalCount` clips of the validation split (seed = the run's seed). */
async function validationReport(k: OrtKernels, model: Organism, vocab: Vocabulary, o: TrainOptions): Promise<AccuracyReport> {
  const samples = avWorldSamples({ preset: 'default', split: 'validation', count: o.evalCount, seed: o.seed });
  return accuracyReport(await scoreSamples(k, model, vocab, samples, 4));
}

/** Trains, evaluates on validation and test, and writes the HF folder `o.out`. */
export async function trainOrganism(o: TrainOptions, log: (line: string) => void = console.log): Promise<TrainResult> {
  return finishOrganism(await trainStage(o, log), o, log);
}

/** Validation and test accuracy of a trained stage; writes the HF folder `o.out`. */
export async function finishOrganism(stage: TrainedStage, o: TrainOptions, log: (line: string) => void = console.log): Promise<TrainResult> {
  const t0 = Date.now();
  const words = worldVocabulary();
  const vocab = makeVocabulary(words);
  const { model, kernels: k } = stage;
  const validation = await validationReport(k, model, vocab, o);
  log(`final validation: ${formatAccuracy(validation)}`);
  const testSamples = avWorldSamples({ preset: 'default', split: 'test', count: o.testCount, seed: 0 });
  const test = accuracyReport(await scoreSamples(k, model, vocab, testSamples, 4));
  log(`test (default preset, seed 0): ${formatAccuracy(test)}`);
  saveOrganism(o.out, model, words);
  return { model, steps: stage.steps, minutes: stage.minutes + (Date.now() - t0) / 60000, validation, test };
}

/** The training loop alone: checkpoints every `checkpointEvery` steps and at the end. */
export async function trainStage(o: TrainOptions, log: (line: string) => void = console.log): Promise<TrainedStage> {
  const t0 = Date.now();
  const words = worldVocabulary();
  const vocab = makeVocabulary(words);
  const config = organismConfig(o.arch);
  for (const [family, head] of Object.entries(o.familyHeads ?? {})) {
    if (!(Number.isInteger(head) && head >= 0 && head < config.heads)) throw new RangeError(`organism:train: answer head ${head} of ${family} is outside the model's heads 0..${config.heads - 1}`);
  }
  const rng = new Rng(o.seed, 7);
  const params: Params = initParams(config, () => rng.normal(), { auxHead: o.separateAuxHead === true, readoutProbe: (o.probeWeight ?? 0) > 0, questionProbe: (o.questionProbeWeight ?? 0) > 0 });
  const adam = new Adam(params);
  let start = 0;
  // Minutes spent before a resume count toward the time limit and the reported time.
  let priorMinutes = 0;
  if (o.resume && o.init) throw new Error('organism:train: --resume continues a run and --init starts a new one from its weights; give one');
  if (o.reinitLayers?.length && !o.init && !o.resume) throw new Error('organism:train: --reinit-layers needs --init (it chooses which of the checkpoint\'s layers start afresh)');
  if (o.init) {
    const ck = loadSafetensors(o.init);
    warmStart(params, ck.params, o.init, o.reinitLayers ?? [], config.layers, log);
    log(`initialised from ${o.init} (step ${ck.metadata.step ?? '?'} of its run); fresh optimizer and schedule`);
  }
  if (o.resume) {
    // Exact resume: weights, optimizer moments and step; per-step data streams below.
    const ck = loadSafetensors(o.resume);
    for (const [name, t] of params) {
      const s = ck.params.get(name);
      if (!s || s.data.length !== t.data.length) throw new Error(`${o.resume}: tensor "${name}" is missing or has the wrong size`);
      t.data.set(s.data);
    }
    start = Number(ck.metadata.step ?? 0);
    priorMinutes = Number(ck.metadata.minutes ?? 0);
    adam.restore(ck.params, start);
    log(`resumed ${o.resume} at step ${start}`);
  }
  const model: Organism = { config, params };
  const k = await OrtKernels.create(o.threads);
  const elapsed = () => priorMinutes + (Date.now() - t0) / 60000;
  const checkpoint = (s: number) => saveSafetensors(join(o.checkpointDir, 'checkpoint.safetensors'), new Map([...params, ...adam.state()]), { step: String(s), minutes: elapsed().toFixed(3) });
  mkdirSync(o.checkpointDir, { recursive: true });
  const history: Array<Record<string, number>> = [];
  let step = start;
  let lossAvg = 0;
  let accAvg = 0;
  let tokens = 0;
  const familyAcc = new FamilyAccuracy();
  const massAvg = new Map<string, number>();
  let probeAcc = 0;
  let questionProbeAcc = 0;
  const last = o.stopAt ?? o.steps;
  for (; step < last; step++) {
    if (elapsed() > o.timeLimitMin) {
      log(`time limit ${o.timeLimitMin} min reached at step ${step}`);
      break;
    }
    // Each step draws from its own stream and clip indices, so a resumed run equals an uninterrupted one.
    const srng = new Rng(o.seed, 1000 + step);
    const frames = curriculumFrames(step, o.steps, srng, o.minFrames, o.maxFrames, o.rampFraction);
    const clipBase = step * 256;
    const aux = o.auxWeight > 0;
    const next = (i: number) => trainSequence(frames, o.seed, clipBase + i, vocab, srng, { aux, perFamily: o.questionsPerFamily, familyQuestions: o.familyQuestions, only: o.families, absent: o.absentEvidence, uniformCount: o.uniformCount, existsBy: o.existsBy, uniformQuestion: o.uniformQuestion, motionLabels: o.motionLabels });
    const seqs = [next(0)];
    while ((seqs.length + 1) * seqs[0]!.encoded.n <= o.tokensPerBatch && seqs.length < 256) seqs.push(next(seqs.length));
    const batch = makeBatch(seqs.map((s) => s.encoded), seqs.map((s) => s.targets), vocab.pad);
    const f = await forward(k, model, batch);
    const ce = crossEntropy(f.logits, batch.targets, config.vocab, o.auxWeight);
    const grads = zerosLike(params);
    const supervise = headSupervision(seqs, batch.n, config, o);
    const families = seqs.flatMap((s) => s.families);
    const answers = batch.targets.filter((t) => !t.aux);
    const probes = [
      ...((o.probeWeight ?? 0) > 0 ? [answerProbe(answers, families, seqs.flatMap((s) => s.probeLabels), config, o)] : []),
      ...((o.questionProbeWeight ?? 0) > 0 ? [questionProbe(answers, seqs.flatMap((s) => s.askedWords), config, o)] : []),
    ];
    const att = await backward(k, model, batch, f, ce.dlogits, grads, supervise, probes);
    const ema = (avg: number, x: number) => (step === start ? x : 0.98 * avg + 0.02 * x);
    probes.forEach((pr, i) => {
      if (pr.param === READOUT_PROBE) probeAcc = ema(probeAcc, att.probes[i]!.accuracy);
      else questionProbeAcc = ema(questionProbeAcc, att.probes[i]!.accuracy);
    });
    att.forEach((r, i) => massAvg.set(supervise[i]!.name, ema(massAvg.get(supervise[i]!.name) ?? r.mass, r.mass)));
    const gnorm = adam.update(params, grads, lrAt(step, o));
    familyAcc.add(families, ce.hits);
    tokens += batch.batch * batch.n;
    lossAvg = ema(lossAvg, ce.loss);
    accAvg = ema(accAvg, ce.correct / ce.answers);
    if ((step + 1) % 25 === 0) {
      const min = elapsed();
      log(`step ${step + 1}/${o.steps} frames ${frames} batch ${batch.batch}×${batch.n} loss ${lossAvg.toFixed(3)} acc ${(100 * accAvg).toFixed(1)} |g| ${gnorm.toFixed(2)} lr ${lrAt(step, o).toExponential(2)} ${((1000 * tokens) / (Date.now() - t0)).toFixed(0)} tok/s ${min.toFixed(1)} min`);
      log(`  train acc by family (last 25 steps): ${familyAcc.format()}${o.attentionWeight > 0 ? ` | evidence mass: ${[...massAvg].map(([name, m]) => `${name} ${m.toFixed(2)}`).join(' ')}` : ''}${(o.probeWeight ?? 0) > 0 ? ` | probe acc ${(100 * probeAcc).toFixed(0)}` : ''}${(o.questionProbeWeight ?? 0) > 0 ? ` | question probe acc ${(100 * questionProbeAcc).toFixed(0)}` : ''}`);
      familyAcc.reset();
      history.push({ step: step + 1, loss: lossAvg, acc: accAvg, minutes: min });
    }
    if ((step + 1) % o.evalEvery === 0) log(`validation @${step + 1}: ${formatAccuracy(await validationReport(k, model, vocab, o))}`);
    if ((step + 1) % o.checkpointEvery === 0) checkpoint(step + 1);
  }
  checkpoint(step);
  const minutes = elapsed();
  writeFileSync(join(o.checkpointDir, 'history.json'), JSON.stringify(history));
  writeFileSync(join(o.checkpointDir, STAGE_DONE), JSON.stringify({ steps: step, minutes }));
  return { model, steps: step, minutes, kernels: k };
}
