/**
 * The real TrialExecutor: the model runtime's `scoreChoices` over a CacheSession running the
 * trial's policy (which reads the answer from the compressed cache: the prompt's tail is held
 * back and decoded after compression, see src/model/held-prompt.ts). An instrumented Decoder measures
 * what the runner records without touching the runtime: prefill and decode wall time, the
 * session's compression time, its exact bytes right after the prompt was compressed, and
 * (optionally) per-layer attention mass by modality.
 * After scoring, the trial's `decodeTokens` greedy tokens are decoded from the compressed cache
 * so decode latency is measured even when every choice is a single token.
 */
import type { EmbeddedPrompt } from '../model/embed-prompt.js';
import { Decoder } from '../model/decoder.js';
import { loadModel, type Model } from '../model/model.js';
import type { QASample } from '../model/prompt.js';
import { argmax } from '../model/sampling.js';
import { scoreChoices } from '../model/score.js';
import { evidenceKept } from './evidence-recall.js';
import type { RuntimeSessionOptions, Sequence } from '../model/sequence.js';
import { policies } from '../policies/catalog.js';
import type { CacheBytes } from '../cache/session-types.js';
import { resolveBackend } from './backend-choice.js';
import { FULL_CACHE } from './config-schema.js';
import type { ExecutorFactory, SampleOutcome, TrialExecutor } from './executor.js';
import { FlowCapture } from './flow-capture.js';
import type { Trial } from './sweep.js';

class MeasuringDecoder extends Decoder {
  prefillMs = 0;
  compressionMs = 0;
  decodeMs = 0;
  decodeTokens = 0;
  bytes: CacheBytes | null = null;

  constructor(
    model: Model,
    private readonly capture: FlowCapture | null,
  ) {
    super(model);
  }

  /**
   * Prefills the prompt's head (scoreChoices holds the tail back and decodes it over the
   * compressed cache), timing prefill and compression apart.
   */
  override prefill(seq: Sequence, prompt: EmbeddedPrompt): Float32Array {
    this.capture?.begin();
    const t0 = performance.now();
    const logits = super.prefill(seq, prompt);
    const total = performance.now() - t0;
    this.capture?.end();
    const compression = seq.session.timings().compressionMs;
    this.compressionMs += compression;
    this.prefillMs += total - compression;
    this.bytes = seq.session.bytes();
    return logits;
  }

  override decodeOne(seq: Sequence, token: number): Float32Array {
    const c0 = seq.session.timings().compressionMs;
    const t0 = performance.now();
    const logits = super.decodeOne(seq, token);
    const total = performance.now() - t0;
    const compression = seq.session.timings().compressionMs - c0;
    this.compressionMs += compression;
    this.decodeMs += total - compression;
    this.decodeTokens++;
    return logits;
  }
}

export class ModelExecutor implements TrialExecutor {
  readonly backendName: string;

  constructor(readonly model: Model) {
    this.backendName = model.backend.name;
  }

  async runSample(sample: QASample, trial: Trial): Promise<SampleOutcome> {
    const wantMass = trial.metrics.includes('attention-mass');
    const capture = wantMass ? new FlowCapture(this.model.backend, this.model.config.numLayers) : null;
    const model = capture ? { ...this.model, backend: capture.backend } : this.model;
    const decoder = new MeasuringDecoder(model, capture);
    const scores = scoreChoices(model, sample, this.sessionOptions(trial), decoder);
    const root = scores.sequence;
    const promptTokens = root.length;
    const kept = sample.evidence ? evidenceKept(root.session, sample.evidence) : undefined;
    if (trial.decodeTokens > 0) {
      let logits = decoder.decodeOne(root, firstToken(model, sample.choices[scores.predicted]!));
      for (let i = 1; i < trial.decodeTokens; i++) logits = decoder.decodeOne(root, argmax(logits));
    }
    return {
      predicted: scores.predicted,
      answerDistribution: scores.answerDistribution,
      promptTokens,
      bytes: decoder.bytes,
      prefillMs: decoder.prefillMs,
      compressionMs: decoder.compressionMs,
      decodeMs: decoder.decodeMs,
      decodeTokens: decoder.decodeTokens,
      modalityMass: capture?.massByLayer(),
      evidenceKept: kept,
    };
  }

  private sessionOptions(trial: Trial): RuntimeSessionOptions {
    const base: RuntimeSessionOptions = { storage: trial.cache.storage ?? trial.cache.dtype, queryAware: trial.cache.queryAware, seed: trial.seed };
    if (trial.policy === FULL_CACHE) return { ...base, policy: null };
    const c = this.model.config;
    return {
      ...base,
      policy: policies.create(trial.policy, trial.options, { numLayers: c.numLayers, qHeads: c.qHeads, kvHeads: c.kvHeads, headDim: c.headDim, seed: trial.seed }),
      budget: trial.budget!,
      schedule: trial.schedule!,
    };
  }
}

function firstToken(model: Model, text: string): number {
  return model.tokenizer.encode(text)[0]!;
}

export const modelExecutorFactory: ExecutorFactory = async ({ modelDir, backend, threads }) => {
  const compute = resolveBackend(backend, threads);
  return new ModelExecutor(loadModel(modelDir, { backend: compute }));
};
