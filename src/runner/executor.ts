/**
 * The seam between the runner and a model: a TrialExecutor answers one QA sample under one
 * trial's cache settings and reports what it measured. The real one (model-executor.ts) runs
 * the model runtime over a CacheSession; the runner itself only aggregates and records.
 */
import type { ThreadChoice } from '../model/decode-threads.js';
import type { StatNeeds } from '../attention/stats.js';
import type { CacheBytes } from '../cache/session-types.js';
import type { QASample } from '../model/prompt.js';
import type { GeneratedText } from './generation-executor.js';
import type { Trial } from './sweep.js';

export interface SampleOutcome {
  /** Index of the highest-scoring choice. */
  predicted: number;
  /** [choices] probabilities over the choices (softmax of their sequence log-probs). */
  answerDistribution: ArrayLike<number>;
  /** Tokens in the prompt (the compressed prefix). */
  promptTokens: number;
  /** CacheSession.bytes() once the prompt was compressed; null when the runtime cannot say. */
  bytes: CacheBytes | null;
  /** Prompt forward pass (ms), excluding compression. */
  prefillMs: number;
  /** Policy planning + physical compaction (ms). */
  compressionMs: number;
  /** All decode steps (ms) and how many tokens they decoded. */
  decodeMs: number;
  decodeTokens: number;
  /** Each decode step's time (ms), when the executor times them one by one (the median column reads them). */
  decodeStepsMs?: number[];
  /** The most KV bytes the cache held during the prefill (a one-pass prefill: the whole prompt's; streaming: budget + one chunk). */
  peakKvBytes?: number;
  /** [layer][modality] fraction of prefill attention mass per key modality, when asked for. */
  modalityMass?: number[][];
  /** Fraction of the sample's evidence tokens the compressed cache kept (see evidence-recall.ts). */
  evidenceKept?: number;
  /**
   * Generation samples: the greedy generation over the compressed cache. Such an outcome has
   * no choice: `predicted` is −1 and `answerDistribution` is empty.
   */
  generated?: GeneratedText;
}

/** One sample's prompt prefilled once, without a policy, for every trial that forks it. */
export interface SharedPrefill {
  readonly sampleId: string;
  /** Tokens the prefill ran (the prompt's head). */
  readonly prefillTokens: number;
  /** Wall time of the prefill (ms). */
  readonly prefillMs: number;
  /** Wall time spent making the prompt before the prefill (ms): media decoding and the towers. */
  readonly encodeMs?: number;
}

export interface TrialExecutor {
  /** Backend that runs ("ts" | "cpu" | "cuda"), after resolving "auto". */
  readonly backendName: string;
  /** What `threads: auto` chose (absent for a fixed thread count). */
  readonly threadChoice?: ThreadChoice;
  /** Answers one sample with the trial's policy, budget, schedule and seed. */
  runSample(sample: QASample, trial: Trial): Promise<SampleOutcome>;
  /**
   * Shared prefill (optional; an executor without it runs every trial on its own prefill).
   * forkNeeds: the statistics `trial` needs from a shared prefill, or null when its policy
   * must watch its own prefill.
   */
  forkNeeds?(trial: Trial): StatNeeds | null;
  /** Prefills `sample` under `trial`'s protocol and cache settings, gathering `gather` (async: media samples are encoded first). */
  prefillShared?(sample: QASample, trial: Trial, gather: StatNeeds): SharedPrefill | Promise<SharedPrefill>;
  /** Answers `sample` under `trial` from a fork of `shared`: the same outcome as runSample. */
  runFork?(shared: SharedPrefill, sample: QASample, trial: Trial): Promise<SampleOutcome>;
  /**
   * Multi-turn (optional): the questions of one clip asked in turn over one compressed context
   * (from a fork of `shared` when given, a prefill of that context); one outcome per sample.
   */
  runTurns?(samples: QASample[], trial: Trial, shared?: SharedPrefill): Promise<SampleOutcome[]>;
  close?(): void;
}

/** Builds the executor for a model folder; called once per run (the model loads once). */
export type ExecutorFactory = (args: {
  modelDir: string;
  backend: Trial['backend'];
  threads: Trial['threads'];
}) => Promise<TrialExecutor>;
