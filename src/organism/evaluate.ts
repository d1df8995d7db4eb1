/**
 * Closed-vocabulary QA scoring with the organism's own forward: the answer is the choice
 * whose (single) token has the highest next-token logit after the prompt.
 */
import type { QASample } from '../model/prompt.js';
import type { OrtKernels } from './ort-kernels.js';
import { forward, type ForwardOptions, type Organism } from './forward.js';
import { encodePrompt, makeBatch, tokenizeWords, type Vocabulary } from './sequence.js';

export interface ScoredSample {
  id: string;
  family: string;
  predicted: number;
  answer: number;
  /** Choice logits. */
  scores: number[];
}

export function choiceTokens(sample: QASample, vocab: Vocabulary): number[] {
  return sample.choices.map((c) => {
    const ids = tokenizeWords(c, vocab);
    if (ids.length !== 1) throw new RangeError(`sample ${sample.id}: choice "${c}" is ${ids.length} tokens; the organism scores single-token choices`);
    return ids[0]!;
  });
}

/** Scores samples in batches of `batchSize` (same-length prompts batch best). */
export async function scoreSamples(k: OrtKernels, model: Organism, vocab: Vocabulary, samples: readonly QASample[], batchSize = 8, opts: ForwardOptions = {}): Promise<ScoredSample[]> {
  const out: ScoredSample[] = [];
  const V = model.config.vocab;
  for (let s = 0; s < samples.length; s += batchSize) {
    const chunk = samples.slice(s, s + batchSize);
    const enc = chunk.map((x) => encodePrompt(x.prompt, vocab));
    const batch = makeBatch(enc, enc.map((e) => [[e.n - 1, 0]]), vocab.pad);
    const f = await forward(k, model, batch, opts);
    chunk.forEach((x, i) => {
      const scores = choiceTokens(x, vocab).map((id) => f.logits[i * V + id]!);
      const predicted = scores.indexOf(Math.max(...scores));
      out.push({ id: x.id, family: x.family, predicted, answer: x.answer, scores });
    });
  }
  return out;
}

export interface AccuracyReport {
  overall: number;
  n: number;
  byFamily: Record<string, { accuracy: number; n: number }>;
}

export function accuracyReport(scored: readonly ScoredSample[]): AccuracyReport {
  const fam: Record<string, { ok: number; n: number }> = {};
  let ok = 0;
  for (const s of scored) {
    const f = (fam[s.family] ??= { ok: 0, n: 0 });
    f.n++;
    if (s.predicted === s.answer) {
      f.ok++;
      ok++;
    }
  }
  const byFamily: AccuracyReport['byFamily'] = {};
  for (const [k, v] of Object.entries(fam)) byFamily[k] = { accuracy: v.ok / v.n, n: v.n };
  return { overall: scored.length ? ok / scored.length : 0, n: scored.length, byFamily };
}

export function formatAccuracy(r: AccuracyReport): string {
  const fams = Object.entries(r.byFamily).map(([k, v]) => `${k} ${(100 * v.accuracy).toFixed(1)}`).join(' | ');
  return `overall ${(100 * r.overall).toFixed(1)}% (n=${r.n}) | ${fams}`;
}
