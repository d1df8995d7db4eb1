/**
 * The organism's own eviction check, by attention masking that is exactly equivalent to
 * physical eviction under the protocol "prefill the media, compress, then read the
 * question": media rows attend causally to the full media (they were computed before
 * compression); question rows see only the kept media slots of each (layer, KV head) plus
 * the question itself. Policies here are minimal re-statements for this sanity check
 * (uniform random, StreamingLLM sink 4 + recent, SnapKV window 32 / avg-pool 5 over the last
 * media queries, and a query-aware SnapKV oracle scored by the question's queries); the
 * project's runner measures the real, physically compacting implementations.
 */
import type { QASample } from '../prompt.js';
import { ModalityCode } from '../../cache/modality.js';
import { Rng } from '../../datasets/av-world/rng.js';
import type { OrtKernels } from './ort-kernels.js';
import { forward, type Organism } from './forward.js';
import { encodePrompt, makeBatch, type Vocabulary } from './sequence.js';
import { choiceTokens, type ScoredSample } from './evaluate.js';

export const EVICTION_POLICIES = ['random', 'streaming-llm', 'snapkv', 'snapkv-question'] as const;
export type EvictionPolicy = (typeof EVICTION_POLICIES)[number];

const SINKS = 4;
const WINDOW = 32;
const POOL = 5;

/** Keep-set [kvHeads][prefix] (1 = kept) for one layer; probs: [H][n][n] of the full pass. */
export function keepSet(policy: EvictionPolicy, prefix: number, budget: number, n: number, heads: number, kvHeads: number, probs: Float32Array | undefined, rng: Rng): Uint8Array[] {
  const G = heads / kvHeads;
  return Array.from({ length: kvHeads }, (_, kh) => {
    const keep = new Uint8Array(prefix);
    const b = Math.min(prefix, Math.max(0, budget));
    if (policy === 'random') {
      const idx = rng.shuffle(Array.from({ length: prefix }, (_, i) => i)).slice(0, b);
      for (const i of idx) keep[i] = 1;
    } else if (policy === 'streaming-llm') {
      for (let i = 0; i < Math.min(SINKS, b); i++) keep[i] = 1;
      for (let i = prefix - Math.max(0, b - SINKS); i < prefix; i++) keep[i] = 1;
    } else {
      if (!probs) throw new Error(`${policy}: needs attention probabilities of the full pass`);
      const [q0, q1] = policy === 'snapkv' ? [prefix - WINDOW, prefix] : [prefix, n];
      const protectedFrom = policy === 'snapkv' ? Math.max(0, prefix - WINDOW) : prefix;
      const raw = new Float64Array(prefix);
      for (let h = kh * G; h < (kh + 1) * G; h++) {
        for (let i = Math.max(0, q0); i < q1; i++) for (let j = 0; j < Math.min(i + 1, prefix); j++) raw[j] += probs[(h * n + i) * n + j]!;
      }
      const pooled = raw.map((_, j) => {
        let s = 0;
        let c = 0;
        for (let t = j - (POOL >> 1); t <= j + (POOL >> 1); t++) if (t >= 0 && t < prefix) { s += raw[t]!; c++; }
        return s / c;
      });
      let left = b;
      for (let i = protectedFrom; i < prefix && left > 0; i++, left--) keep[i] = 1;
      const order = Array.from({ length: protectedFrom }, (_, i) => i).sort((x, y) => pooled[y]! - pooled[x]!);
      for (const i of order.slice(0, left)) keep[i] = 1;
    }
    return keep;
  });
}

/** Additive mask [1][heads][n][n] realising the keep-sets (see the file header). */
export function evictionMask(keep: Uint8Array[], prefix: number, n: number, heads: number): Float32Array {
  const G = heads / keep.length;
  const m = new Float32Array(heads * n * n);
  for (let h = 0; h < heads; h++) {
    const k = keep[Math.floor(h / G)]!;
    for (let i = 0; i < n; i++) {
      const row = (h * n + i) * n;
      m.fill(-1e9, row + i + 1, row + n);
      if (i >= prefix) for (let j = 0; j < prefix; j++) if (!k[j]) m[row + j] = -1e9;
    }
  }
  return m;
}

/** Index of the first question token: the prompt's rows after its last media row. */
export function mediaPrefix(modality: Uint8Array): number {
  let last = -1;
  for (let i = 0; i < modality.length; i++) if (modality[i] !== ModalityCode.text) last = i;
  return last + 1;
}

/** Choice scores of one sample from its logits at the last prompt row. */
function scored(s: QASample, vocab: Vocabulary, logits: Float32Array): ScoredSample {
  const scores = choiceTokens(s, vocab).map((id) => logits[id]!);
  return { id: s.id, family: s.family, predicted: scores.indexOf(Math.max(...scores)), answer: s.answer, scores };
}

/**
 * Scores every sample with the full cache and under each (policy, ratio), keeping `ratio` of
 * the media prefix (BOS included) per layer and KV head. One full pass per sample (with
 * attention probabilities for SnapKV), then one masked pass per setting.
 * Returns results["full"] and results[`${policy}@${ratio}`].
 */
export async function evictionSweep(k: OrtKernels, model: Organism, vocab: Vocabulary, samples: readonly QASample[], policies: readonly EvictionPolicy[], ratios: readonly number[], seed = 0): Promise<Map<string, ScoredSample[]>> {
  const c = model.config;
  const out = new Map<string, ScoredSample[]>([['full', []]]);
  for (const [si, s] of samples.entries()) {
    const enc = encodePrompt(s.prompt, vocab);
    const batch = makeBatch([enc], [[[enc.n - 1, 0]]], vocab.pad);
    const n = enc.n;
    const prefix = mediaPrefix(enc.modality);
    const needsProbs = policies.some((p) => p.startsWith('snapkv'));
    const full = await forward(k, model, batch, { withProbs: needsProbs });
    out.get('full')!.push(scored(s, vocab, full.logits));
    for (const policy of policies) {
      for (const ratio of ratios) {
        const rng = new Rng(seed, si);
        const budget = Math.round(ratio * prefix);
        const masks = Array.from({ length: c.layers }, (_, l) => evictionMask(keepSet(policy, prefix, budget, n, c.heads, c.kvHeads, full.probs?.[l], rng), prefix, n, c.heads));
        const f = await forward(k, model, batch, { mask: (l) => ({ mask: masks[l]!, dims: [1, c.heads, n, n] }) });
        const key = `${policy}@${ratio}`;
        if (!out.has(key)) out.set(key, []);
        out.get(key)!.push(scored(s, vocab, f.logits));
      }
    }
  }
  return out;
}
