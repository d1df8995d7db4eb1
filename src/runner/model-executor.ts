/**
 * The real TrialExecutor: the model runtime's `scoreChoices` over a CacheSession running the
 * trial's policy (which reads the answer from the compressed cache: the prompt's tail is held
 * back and decoded after compression, see src/model/held-prompt.ts). An instrumented Decoder measures
 * what the runner records without touching the runtime: prefill and decode wall time, the
 * session's compression time, its exact bytes right after the prompt was compressed, and
 * (optionally) per-layer attention mass by modality.
 * After scoring, the trial's `decodeTokens` greedy tokens are decoded from the compressed cache
 * so decode latency is measured even when every choice is a single token.
 * Shared prefill: prefillShared runs a sample's prompt once without a policy (gathering every
 * fork's statistics); runFork forks it per trial and ends the fork's prefill under the trial's
 * policy, then continues exactly as runSample does.
 * Samples with media pieces are encoded and framed by the chat template first (media-prompt.ts).
 * Generation samples (a reference answer, no choices) take the same prefill, shared or own, and
 * then generate greedily over the compressed cache (generation-executor.ts).
 */
import type { EmbeddedPrompt } from '../model/embed-prompt.js';
import { Decoder, type ChunkedPrefill } from '../model/decoder.js';
import { loadModel, type Model } from '../model/model.js';
import { isGenerationSample, type GenerationSample, type QASample } from '../model/prompt.js';
import { argmax } from '../model/sampling.js';
import { policyEnvFor } from '../model/policy-for-model.js';
import { runSecondPass } from '../model/second-pass.js';
import { prepareSample, scorePrefilled, type ChoiceScores, type PreparedSample } from '../model/score.js';
import { sampleEvidenceKept } from './evidence-recall.js';
import type { RuntimeSessionOptions, Sequence } from '../model/sequence.js';
import { policies } from '../policies/catalog.js';
import type { CacheBytes } from '../cache/session-types.js';
import { sessionNeeds } from '../cache/cache-session.js';
import type { StatNeeds } from '../attention/stats.js';
import { resolveBackend, settleThreads } from './backend-choice.js';
import type { ThreadChoice } from '../model/decode-threads.js';
import { FULL_CACHE } from './config-schema.js';
import type { ExecutorFactory, SampleOutcome, SharedPrefill, TrialExecutor } from './executor.js';
import { FlowCapture } from './flow-capture.js';
import { hasMedia, MediaPromptResolver } from './media-prompt.js';
import { feedTail, greedyDecode, maxNewTokensOf, prepareAny, prepareGeneration } from './generation-executor.js';
import type { Trial } from './sweep.js';
import { chunkPlan, holdsDuringPrefill, streamedHead } from './prefill-plan.js';

class MeasuringDecoder extends Decoder {
  prefillMs = 0;
  /** The most KV bytes the cache held during the prefill (before each compression). */
  peakKvBytes = 0;
  compressionMs = 0;
  decodeMs = 0;
  decodeTokens = 0;
  /** Each decode step's time (ms, compression excluded). */
  decodeStepsMs: number[] = [];
  bytes: CacheBytes | null = null;

  constructor(
    model: Model,
    private readonly capture: FlowCapture | null,
    /** The trial's chunk plan for a prompt head (prefill-plan.ts); none: one pass. */
    private readonly chunks: (head: EmbeddedPrompt) => ChunkedPrefill | undefined = () => undefined,
  ) {
    super(model);
  }

  /**
   * Prefills the prompt's head (the tail is held back and decoded over the compressed cache),
   * in one pass or chunk by chunk as the trial says, timing prefill and compression apart and
   * noting the peak KV bytes.
   */
  override prefill(seq: Sequence, prompt: EmbeddedPrompt): Float32Array {
    this.capture?.begin();
    const t0 = performance.now();
    const plan = this.chunks(prompt);
    let peak = 0;
    const logits = plan ? this.runChunks(seq, prompt, { ...plan, onChunk: (c) => (peak = Math.max(peak, c.kvBytesBefore)) }) : this.runPrompt(seq, prompt);
    this.peakKvBytes = plan ? peak : seq.session.bytes().kvBytes;
    runSecondPass(this, seq, prompt); // only for a policy that asks for one (KVzip), as Decoder.prefill does
    seq.session.endPrefill();
    const total = performance.now() - t0;
    this.capture?.end();
    const compression = seq.session.timings().compressionMs;
    this.compressionMs += compression;
    this.prefillMs += total - compression;
    this.bytes = seq.session.bytes();
    return logits;
  }

  /** What an outcome reports of this decoder's measurements. */
  measured(): Pick<SampleOutcome, 'bytes' | 'prefillMs' | 'compressionMs' | 'decodeMs' | 'decodeTokens' | 'decodeStepsMs' | 'peakKvBytes'> {
    const { bytes, prefillMs, compressionMs, decodeMs, decodeTokens, peakKvBytes } = this;
    return { bytes, prefillMs, compressionMs, decodeMs, decodeTokens, decodeStepsMs: this.decodeStepsMs.slice(), peakKvBytes };
  }

  /** Zeroes the timings (next multi-turn question); the bytes after the context's compression stay. */
  restart(): void {
    this.prefillMs = 0;
    this.compressionMs = 0;
    this.decodeMs = 0;
    this.decodeTokens = 0;
    this.decodeStepsMs = [];
  }

  override decodeOne(seq: Sequence, token: number): Float32Array {
    const c0 = seq.session.timings().compressionMs;
    const t0 = performance.now();
    const logits = super.decodeOne(seq, token);
    const total = performance.now() - t0;
    const compression = seq.session.timings().compressionMs - c0;
    this.compressionMs += compression;
    this.decodeMs += total - compression;
    this.decodeStepsMs.push(total - compression);
    this.decodeTokens++;
    return logits;
  }
}

/** What prefillShared hands its forks: the prepared sample and its unfinished prefill. */
interface ModelPrefill extends SharedPrefill {
  readonly prepared: PreparedSample;
  readonly sequence: Sequence;
  /** The prefill's last logits [vocab] f32 (a copy: every fork reads them). */
  readonly logits: Float32Array;
  readonly modalityMass?: number[][];
  /** Statistics the own path's flow capture would have left in the session. */
  readonly keepStats: StatNeeds;
  /** KV bytes of the whole head, before any fork compresses. */
  readonly peakKvBytes: number;
}

export class ModelExecutor implements TrialExecutor {
  readonly backendName: string;
  private readonly media: MediaPromptResolver;

  constructor(
    readonly model: Model,
    readonly threadChoice?: ThreadChoice,
  ) {
    this.backendName = model.backend.name;
    this.media = new MediaPromptResolver(model);
  }

  async runSample(sample: QASample, trial: Trial): Promise<SampleOutcome> {
    if (isGenerationSample(sample)) return this.generateOwn(sample, trial);
    const capture = this.captureFor(trial);
    const model = capture ? { ...this.model, backend: capture.backend } : this.model;
    const decoder = new MeasuringDecoder(model, capture, (head) => chunkPlan(trial, head));
    const prepared = streamedHead(prepareSample(model, await this.media.resolve(sample), trial.cache.queryAware), sample, trial);
    const seq = decoder.open(this.sessionOptions(trial));
    const scores = scorePrefilled(decoder, prepared, seq, decoder.prefill(seq, prepared.head));
    return this.finish(decoder, scores, sample, trial, capture?.massByLayer());
  }

  forkNeeds(trial: Trial): StatNeeds | null {
    // A policy that compresses between chunks acts during its own prefill: nothing to fork.
    if (holdsDuringPrefill(trial)) return null;
    const policy = this.sessionOptions(trial).policy ?? null;
    if (policy?.retention && !policy.retention.observe) return null;
    return sessionNeeds(policy);
  }

  async prefillShared(sample: QASample, trial: Trial, gather: StatNeeds): Promise<ModelPrefill> {
    const capture = this.captureFor(trial);
    const model = capture ? { ...this.model, backend: capture.backend } : this.model;
    if (trial.protocol === 'multi-turn') refuseMediaTurns([sample], trial);
    const e0 = performance.now();
    const prepared = streamedHead(prepareAny(model, await this.media.resolve(sample), trial.cache.queryAware), sample, trial);
    const encodeMs = performance.now() - e0;
    const decoder = new Decoder(model);
    const sequence = decoder.open({ storage: trial.cache.storage ?? trial.cache.dtype, tier: trial.cache.tier, gather });
    capture?.begin();
    const t0 = performance.now();
    // Chunked like the trials' own prefills (forks never hold between chunks: holdsDuringPrefill).
    const plan = chunkPlan(trial, prepared.head);
    const logits = (plan ? decoder.runChunks(sequence, prepared.head, plan) : decoder.runPrompt(sequence, prepared.head)).slice();
    const prefillMs = performance.now() - t0;
    capture?.end();
    const keepStats: StatNeeds = capture ? { flows: true } : {};
    const peakKvBytes = sequence.session.bytes().kvBytes;
    return { sampleId: sample.id, prefillTokens: prepared.head.n, prefillMs, encodeMs, prepared, sequence, logits, modalityMass: capture?.massByLayer(), keepStats, peakKvBytes };
  }

  async runFork(shared: SharedPrefill, sample: QASample, trial: Trial): Promise<SampleOutcome> {
    const p = shared as ModelPrefill;
    const { decoder, seq, logits, mass } = this.forkOf(p, sample, trial);
    if (isGenerationSample(sample)) return this.finishGeneration(decoder, p.prepared, seq, logits, sample, mass);
    return this.finish(decoder, scorePrefilled(decoder, p.prepared, seq, logits), sample, trial, mass);
  }

  async runTurns(samples: QASample[], trial: Trial, shared?: SharedPrefill): Promise<SampleOutcome[]> {
    refuseMediaTurns(samples, trial);
    const generation = samples.find(isGenerationSample);
    if (generation) throw new Error(`multi-turn: sample ${generation.id} is a generation sample; multi-turn asks closed-choice questions only`);
    const turns = samples.map((s) => prepareSample(this.model, s, false));
    const context = turns[0]!.head;
    for (const [i, t] of turns.entries()) {
      if (t.head.n !== context.n) throw new Error(`multi-turn: sample ${samples[i]!.id} has a ${t.head.n}-token context; ${samples[0]!.id}, asked first, has ${context.n}`);
    }
    let decoder: MeasuringDecoder;
    let seq: Sequence;
    let logits: Float32Array;
    let mass: number[][] | undefined;
    if (shared) {
      ({ decoder, seq, logits, mass } = this.forkOf(shared as ModelPrefill, samples[0]!, trial));
    } else {
      const capture = this.captureFor(trial);
      const model = capture ? { ...this.model, backend: capture.backend } : this.model;
      decoder = new MeasuringDecoder(model, capture, (head) => chunkPlan(trial, head));
      seq = decoder.open(this.sessionOptions(trial));
      logits = decoder.prefill(seq, context);
      mass = capture?.massByLayer();
    }
    const outcomes: SampleOutcome[] = [];
    for (const [i, turn] of turns.entries()) {
      // The context's prefill and compression are charged to the first question.
      if (i > 0) decoder.restart();
      const scores = scorePrefilled(decoder, turn, seq, logits);
      outcomes.push(this.finish(decoder, scores, samples[i]!, trial, mass, seq.clone()));
      // The conversation continues with the reference answer, so every policy and the full
      // cache answer the next question after the same history.
      for (const id of turn.choiceIds[samples[i]!.answer]!) logits = decoder.decodeOne(seq, id);
    }
    return outcomes;
  }

  /** A fork of `p` under `trial`, its prefill ended, with the decoder that measured it. */
  private forkOf(p: ModelPrefill, sample: QASample, trial: Trial): { decoder: MeasuringDecoder; seq: Sequence; logits: Float32Array; mass: number[][] | undefined } {
    if (p.sampleId !== sample.id || !p.sequence) throw new Error(`runFork: the shared prefill is of sample ${p.sampleId}, not ${sample.id}`);
    const decoder = new MeasuringDecoder(this.model, null);
    const { storage: _fixedByPrefill, tier: _tierToo, ...opts } = this.sessionOptions(trial);
    const seq = p.sequence.fork({ ...opts, backend: this.model.backend }, p.keepStats);
    // A second pass (KVzip's repeat) runs on the fork, over the shared uncompressed prefill.
    const t0 = performance.now();
    runSecondPass(decoder, seq, p.prepared.head);
    const secondPassMs = performance.now() - t0;
    seq.session.endPrefill();
    decoder.prefillMs = p.prefillMs + secondPassMs;
    decoder.peakKvBytes = p.peakKvBytes;
    decoder.compressionMs = seq.session.timings().compressionMs;
    decoder.bytes = seq.session.bytes();
    return { decoder, seq, logits: p.logits, mass: p.modalityMass };
  }

  /** A generation sample on the trial's own prefill. */
  private async generateOwn(sample: GenerationSample, trial: Trial): Promise<SampleOutcome> {
    const capture = this.captureFor(trial);
    const model = capture ? { ...this.model, backend: capture.backend } : this.model;
    const decoder = new MeasuringDecoder(model, capture, (head) => chunkPlan(trial, head));
    const prepared = streamedHead(prepareGeneration(model, { ...sample, prompt: (await this.media.resolve(sample)).prompt }, trial.cache.queryAware), sample, trial);
    const seq = decoder.open(this.sessionOptions(trial));
    const logits = decoder.prefill(seq, prepared.head);
    return this.finishGeneration(decoder, prepared, seq, logits, sample, capture?.massByLayer());
  }

  /** Feeds the held-back tail, then generates greedily over the compressed cache (decode latency is the generation's own). */
  private finishGeneration(decoder: MeasuringDecoder, prepared: PreparedSample, seq: Sequence, prefillLogits: Float32Array, sample: GenerationSample, modalityMass: number[][] | undefined): SampleOutcome {
    const logits = feedTail(decoder, prepared, seq, prefillLogits);
    const promptTokens = seq.length;
    const kept = sampleEvidenceKept(seq.session, sample, promptTokens);
    const generated = greedyDecode(this.model, decoder, seq, logits, maxNewTokensOf(sample));
    return {
      predicted: -1,
      answerDistribution: [],
      promptTokens,
      ...decoder.measured(),
      modalityMass,
      evidenceKept: kept,
      generated,
    };
  }

  private captureFor(trial: Trial): FlowCapture | null {
    return trial.metrics.includes('attention-mass') ? new FlowCapture(this.model.backend, this.model.config.numLayers) : null;
  }

  /**
   * Greedy decode for latency after scoring (on `latencyOn`, default the scored sequence
   * itself; multi-turn passes a clone so the conversation goes on unchanged), then the outcome.
   */
  private finish(decoder: MeasuringDecoder, scores: ChoiceScores, sample: QASample, trial: Trial, modalityMass: number[][] | undefined, latencyOn = scores.sequence): SampleOutcome {
    const root = scores.sequence;
    const promptTokens = root.length;
    const kept = sampleEvidenceKept(root.session, sample, promptTokens);
    if (trial.decodeTokens > 0) {
      let logits = decoder.decodeOne(latencyOn, firstToken(this.model, sample.choices[scores.predicted]!));
      for (let i = 1; i < trial.decodeTokens; i++) logits = decoder.decodeOne(latencyOn, argmax(logits));
    }
    return {
      predicted: scores.predicted,
      answerDistribution: scores.answerDistribution,
      promptTokens,
      ...decoder.measured(),
      modalityMass,
      evidenceKept: kept,
    };
  }

  private sessionOptions(trial: Trial): RuntimeSessionOptions {
    const base: RuntimeSessionOptions = { storage: trial.cache.storage ?? trial.cache.dtype, tier: trial.cache.tier, queryAware: trial.cache.queryAware, seed: trial.seed };
    if (trial.policy === FULL_CACHE) return { ...base, policy: null };
    return {
      ...base,
      policy: policies.create(trial.policy, trial.options, policyEnvFor(this.model, trial.seed)),
      budget: trial.budget!,
      schedule: trial.schedule!,
    };
  }
}

/** See media-prompt.ts: a chat-framed question cannot follow another's answer as the turn protocol asks. */
function refuseMediaTurns(samples: QASample[], trial: Trial): void {
  const s = samples.find(hasMedia);
  if (s) throw new Error(`trial ${trial.label}: sample ${s.id} has media pieces, which protocol multi-turn does not support (each question would need its own chat turn); use query-aware or query-agnostic`);
}

function firstToken(model: Model, text: string): number {
  return model.tokenizer.encode(text)[0]!;
}

export const modelExecutorFactory: ExecutorFactory = async ({ modelDir, backend, threads }) => {
  const model = loadModel(modelDir, { backend: resolveBackend(backend, threads) });
  return new ModelExecutor(model, settleThreads(model, threads));
};
