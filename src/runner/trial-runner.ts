/**
 * Runs one trial: every sample through the executor, the full-cache reference per sample for
 * fidelity (computed once, reused by all trials), then one ResultRow.
 */
import { isGenerationSample, type QASample } from '../model/prompt.js';
import type { GenerationTrialMetrics } from './generation-metrics.js';
import type { SampleOutcome, TrialExecutor } from './executor.js';
import { aggregate, type PeakRss } from './metrics.js';
import { predictionLines, type PredictionLine } from './predictions.js';
import type { ResultRow } from './result-row.js';
import { ReferenceStore, type ReferenceAnswer } from './reference-store.js';
import { FULL_CACHE } from './config-schema.js';
import type { DatasetSource } from './dataset-source.js';
import { storageLabel } from './storage-axis.js';
import type { Trial } from './sweep.js';
import { sampleUnits } from './turns.js';

export interface TrialContext {
  executor: TrialExecutor;
  dataset: DatasetSource;
  references: ReferenceStore;
  peak: PeakRss;
  shard: string;
  onSample?: () => void | Promise<void>;
  /** Receives the trial's per-sample predictions once its samples ran (before its row exists). */
  recordPredictions?: (lines: PredictionLine[]) => void;
}

/** The uncompressed twin of a trial (same model, data, backend, cache settings and seed). */
export function fullCacheTrial(t: Trial): Trial {
  const metrics = t.metrics.filter((m) => m !== 'attention-mass'); // a reference needs only the answer
  return { ...t, policy: FULL_CACHE, options: {}, budget: null, schedule: null, metrics, label: 'full cache', budgetLabel: FULL_CACHE, id: `${t.id}-full` };
}

export async function runTrial(trial: Trial, ctx: TrialContext): Promise<ResultRow> {
  const started = performance.now();
  ctx.peak.reset();
  const units = sampleUnits(await ctx.dataset.samples(trial.samples, trial.seed), trial.protocol);
  const wantFidelity = trial.metrics.includes('fidelity');
  const outcomes: SampleOutcome[] = [];
  const refs: (ReferenceAnswer | null)[] = [];
  for (const unit of units) {
    const answered = await answerUnit(ctx, unit, trial);
    const keys = unit.map((sample) => referenceKey(trial, sample, ctx));
    let unitRefs: (ReferenceAnswer | null)[] = keys.map((k) => ctx.references.get(k) ?? null);
    if ((trial.policy === FULL_CACHE || wantFidelity) && unitRefs.some((r) => r === null)) {
      const full = trial.policy === FULL_CACHE ? answered : await answerUnit(ctx, unit, fullCacheTrial(trial));
      unitRefs = full.map(toReference);
      unitRefs.forEach((r, i) => ctx.references.set(keys[i]!, r!));
    }
    for (const [i, o] of answered.entries()) {
      outcomes.push(o);
      refs.push(wantFidelity ? unitRefs[i]! : null);
      await ctx.onSample?.();
    }
  }
  return finishTrial(trial, ctx, units.flat(), outcomes, refs, performance.now() - started);
}

/** Hands the trial's per-sample predictions to the context, then returns its row. */
export function finishTrial(trial: Trial, ctx: TrialContext, samples: QASample[], outcomes: SampleOutcome[], refs: (ReferenceAnswer | null)[], wallMs: number): ResultRow {
  ctx.recordPredictions?.(predictionLines(trial, samples, outcomes, refs));
  return buildRow(trial, ctx, samples, outcomes, refs, wallMs);
}

/** One unit's outcomes on the trial's own prefill: a sample, or a clip's questions in turn (multi-turn). */
async function answerUnit(ctx: TrialContext, unit: QASample[], trial: Trial): Promise<SampleOutcome[]> {
  const ex = ctx.executor;
  let out: SampleOutcome[];
  if (trial.protocol !== 'multi-turn') out = [await ex.runSample(unit[0]!, trial)];
  else if (!ex.runTurns) throw new Error(`trial ${trial.label}: protocol multi-turn needs an executor with runTurns (this one answers single samples only)`);
  else out = await ex.runTurns(unit, trial);
  out.forEach((o, i) => checkOutcome(o, unit[i]!, trial));
  return out;
}

/** Where the full-cache answer to `sample` under `trial`'s settings is kept. */
export function referenceKey(trial: Trial, sample: QASample, ctx: TrialContext): string {
  return ReferenceStore.keyOf({
    model: trial.model,
    dataset: trial.dataset,
    sampleSeed: ctx.dataset.sampleSeed(trial.seed),
    sampleId: sample.id,
    backend: ctx.executor.backendName,
    // Keys of query-aware / query-agnostic stay as they were before the other protocols existed.
    cache: trial.protocol === 'multi-turn' || trial.protocol === 'streaming' ? { ...trial.cache, protocol: trial.protocol } : trial.cache,
  });
}

/** One trial's row from its per-sample outcomes and references (refs[i] null: no fidelity). */
export function buildRow(trial: Trial, ctx: TrialContext, samples: QASample[], outcomes: SampleOutcome[], refs: (ReferenceAnswer | null)[], wallMs: number): ResultRow {
  const m = aggregate(samples, outcomes, refs);
  const on = (name: Trial['metrics'][number]): boolean => trial.metrics.includes(name);
  const b = on('memory') ? m.bytes : null;
  const row: ResultRow = {
    trial_id: trial.id,
    trial_index: trial.index,
    label: trial.label,
    policy: trial.policy,
    options: trial.options,
    budget: trial.budgetLabel,
    budget_ratio: trial.budget && 'ratio' in trial.budget ? trial.budget.ratio : null,
    budget_tokens: trial.budget && 'tokens' in trial.budget ? trial.budget.tokens : null,
    schedule: scheduleLabel(trial),
    protocol: trial.protocol,
    storage: storageLabel(trial.cache),
    seed: trial.seed,
    backend: ctx.executor.backendName,
    threads: trial.threads,
    model: trial.model,
    dataset: trial.dataset.kind === 'av-world' ? `av-world:${trial.dataset.preset}/${trial.dataset.split}` : trial.dataset.path,
    samples: samples.length,
    accuracy: on('accuracy') ? m.accuracy : null,
    kl: m.kl,
    top1_agreement: m.top1Agreement,
    evidence_kept: m.evidenceKept,
    prompt_tokens: m.promptTokens,
    logical_tokens: b?.logicalTokens ?? null,
    slots: b?.slots ?? null,
    kv_bytes: b?.kvBytes ?? null,
    kv_dram_bytes: b?.kvDramBytes ?? null,
    kv_file_bytes: b?.kvFileBytes ?? null,
    meta_bytes: b?.metaBytes ?? null,
    retention_bytes: b?.retentionBytes ?? null,
    total_bytes: b?.totalBytes ?? null,
    kv_peak_bytes: on('memory') ? m.peakKvBytes : null,
    peak_rss_bytes: on('memory') ? ctx.peak.peakBytes() : null,
    prefill_ms: on('latency') ? m.prefillMs : null,
    compression_ms: on('latency') ? m.compressionMs : null,
    decode_ms_per_token: on('latency') ? m.decodeMsPerToken : null,
    decode_ms_median: on('latency') ? m.decodeMsMedian : null,
    wall_ms: wallMs,
    shard: ctx.shard,
    finished_at: new Date().toISOString(),
    families: m.families,
  };
  if (on('attention-mass') && m.modalityMass) row.modality_mass = m.modalityMass;
  if (m.generation) Object.assign(row, generationColumns(m.generation, on('accuracy'), on('fidelity')));
  return row;
}

export function toReference(o: SampleOutcome): ReferenceAnswer {
  const r: ReferenceAnswer = { predicted: o.predicted, answerDistribution: Array.from(o.answerDistribution) };
  if (o.generated) r.generated = { tokens: o.generated.tokens, text: o.generated.text };
  return r;
}

/** A generation trial's row columns (text metrics under `accuracy`, agreement under `fidelity`). */
function generationColumns(g: GenerationTrialMetrics, accuracy: boolean, fidelity: boolean): Partial<ResultRow> {
  const text = (x: number): number | null => (accuracy ? x : null);
  return {
    exact_match: text(g.exactMatch),
    contains: text(g.contains),
    bleu_1: text(g.bleu[0]!),
    bleu_2: text(g.bleu[1]!),
    bleu_3: text(g.bleu[2]!),
    bleu_4: text(g.bleu[3]!),
    rouge_l: text(g.rougeL),
    cider: text(g.cider),
    token_agreement: fidelity ? g.tokenAgreement : null,
    text_identical: fidelity ? g.textIdentical : null,
  };
}

function scheduleLabel(t: Trial): string {
  if (!t.schedule) return 'none';
  return t.schedule.kind === 'every' ? `every:${t.schedule.steps}` : t.schedule.kind;
}

export function checkOutcome(o: SampleOutcome, s: QASample, t: Trial): void {
  if (isGenerationSample(s)) {
    if (!o.generated) throw new Error(`trial ${t.label} @ ${t.budgetLabel}, sample ${s.id}: a generation sample, but the executor returned no generated text`);
    return;
  }
  if (o.answerDistribution.length !== s.choices.length || !(o.predicted >= 0 && o.predicted < s.choices.length)) {
    throw new Error(`trial ${t.label} @ ${t.budgetLabel}, sample ${s.id}: the executor returned ${o.answerDistribution.length} probabilities / choice ${o.predicted} for ${s.choices.length} choices`);
  }
}
