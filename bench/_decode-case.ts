/**
 * One kvprism case of the decode bench, run inside its child process: load the model, prefill
 * a random prompt into a cache of one storage type, then for each policy decode greedily and
 * time the steps.
 *
 * Prefill modes. `own`: the case has one policy and prefills for it (dec.prefill: the forward
 * pass, then the policy's compression), as the bench always did. `shared`: one policy-free
 * forward pass gathers what every policy needs, then each policy forks it (CacheSession.fork,
 * the runner's shared prefill) and ends its own prefill; a row's prefill time is the shared
 * forward pass plus its own compression, its decode runs on its fork alone. At 16k a prefill
 * takes minutes on two cores, so sharing saves one per policy after the first.
 */
import { mergeNeeds } from '../src/attention/stats.js';
import { sessionNeeds } from '../src/cache/cache-session.js';
import type { StorageKind } from '../src/cache/storage-spec.js';
import { Decoder } from '../src/model/decoder.js';
import { embedPrompt } from '../src/model/embed-prompt.js';
import { loadModel, type Model } from '../src/model/model.js';
import { createPolicy } from '../src/model/policy-for-model.js';
import type { RuntimeSessionOptions, Sequence } from '../src/model/sequence.js';
import { resolveBackend } from '../src/runner/backend-choice.js';
import type { BackendChoice } from '../src/runner/config-schema.js';
import { mulberry32 } from '../src/util/random.js';
import type { DecodePolicy, PrefillMode, WeightDType } from './_decode-flags.js';

export interface PrefillCase {
  modelDir: string;
  dtype: WeightDType;
  /** Prompt length (tokens). */
  context: number;
  /** Decoded tokens per policy. */
  decode: number;
  storage: StorageKind;
  /** One policy for `own`; any number for `shared`. */
  policies: DecodePolicy[];
  /** SnapKV's budget as a fraction of the prompt. */
  budget: number;
  backend: BackendChoice;
  threads: number;
  prefill: PrefillMode;
}

export interface PolicyResult {
  policy: DecodePolicy;
  backendName: string;
  prefillTokS: number;
  decodeTokS: number;
  /** Exact K/V bytes the decode attends over after prefill (codes + scales + dense residual for the coded storages). */
  kvBytes: number;
  /** The child's peak RSS when this row finished (in `shared` mode it includes the shared prefill and earlier forks). */
  peakRssBytes: number;
  /** The greedy tokens decoded (what a shared and an own prefill must agree on). */
  tokens: number[];
}

/** The bench's prompt: `context` ids drawn from a generator seeded by the context, as llama.cpp's case draws them. */
export function promptIds(context: number, vocabSize: number): number[] {
  const rand = mulberry32(context);
  return Array.from({ length: context }, () => Math.floor(rand() * vocabSize));
}

export function runPrefillCase(c: PrefillCase): PolicyResult[] {
  if (c.prefill === 'own' && c.policies.length !== 1) throw new Error(`decode case: prefill "own" runs one policy per case; got ${c.policies.join(', ')}`);
  const backend = resolveBackend(c.backend, c.threads);
  const model = loadModel(c.modelDir, { backend });
  const prompt = embedPrompt(model, { segments: [{ kind: 'tokens', ids: promptIds(c.context, model.config.vocabSize) }], addBos: false });
  const dec = new Decoder(model);
  const row = (policy: DecodePolicy, seq: Sequence, prefillMs: number, logits: Float32Array): PolicyResult => {
    // Before decoding: the bytes the decode attends over (it appends a slot per step).
    const kvBytes = seq.session.bytes().kvBytes;
    const { medianStepMs, tokens } = decodeGreedy(dec, seq, logits, c.decode);
    const decodeTokS = 1000 / medianStepMs;
    return { policy, backendName: backend.name, prefillTokS: c.context / (prefillMs / 1000), decodeTokS, kvBytes, peakRssBytes: process.resourceUsage().maxRSS * 1024, tokens };
  };
  if (c.prefill === 'own') {
    const policy = c.policies[0]!;
    const seq = dec.open({ storage: c.storage, ...policyOptions(model, policy, c.budget) });
    const t0 = performance.now();
    const logits = dec.prefill(seq, prompt);
    return [row(policy, seq, performance.now() - t0, logits)];
  }
  const options = c.policies.map((p) => policyOptions(model, p, c.budget));
  const shared = dec.open({ storage: c.storage, gather: mergeNeeds(...options.map((o) => sessionNeeds(o.policy ?? null))) });
  const t0 = performance.now();
  // Copied: every fork starts its decode from these logits.
  const logits = dec.runPrompt(shared, prompt).slice();
  const forwardMs = performance.now() - t0;
  return c.policies.map((policy, i) => {
    const seq = shared.fork(options[i]!);
    const t1 = performance.now();
    seq.session.endPrefill();
    return row(policy, seq, forwardMs + (performance.now() - t1), logits);
  });
}

/** The session options of one policy: the full cache, or SnapKV at `budget` of the prompt. */
function policyOptions(model: Model, policy: DecodePolicy, budget: number): Pick<RuntimeSessionOptions, 'policy' | 'budget'> {
  return policy === 'snapkv' ? { policy: createPolicy(model, 'snapkv'), budget: { ratio: budget } } : { policy: null };
}

/**
 * Greedy decode of `n` tokens after `logits` [vocab] f32: the tokens fed and the median step
 * time (ms), robust to other processes stealing the CPU for a few steps.
 */
function decodeGreedy(dec: Decoder, seq: Sequence, logits: Float32Array, n: number): { medianStepMs: number; tokens: number[] } {
  const stepMs: number[] = [];
  const tokens: number[] = [];
  let next = logits;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let v = 1; v < next.length; v++) if (next[v]! > next[best]!) best = v;
    tokens.push(best);
    const t = performance.now();
    next = dec.decodeOne(seq, best);
    stepMs.push(performance.now() - t);
  }
  stepMs.sort((a, b) => a - b);
  return { medianStepMs: stepMs[Math.floor(stepMs.length / 2)]!, tokens };
}
