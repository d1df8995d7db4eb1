/**
 * The experiment config: this zod schema is the single source of every knob, its default and
 * its doc. `kvprism schema` prints it as JSON Schema; YAML files and `--set a.b=value`
 * overrides are validated against it. Normalisation (budget parsing, sweep expansion) happens
 * after parsing (src/runner/sweep.ts) so the schema stays representable as JSON Schema.
 */
import { z } from 'zod';
import { GROUP_RANGE, RESIDUAL_RANGE, STORAGE_DEFAULTS, STORAGE_KINDS, misplacedOption, type StorageKind } from '../cache/storage-spec.js';
import { TIER_MAX_BYTES_LIMIT } from '../cache/tier-spec.js';
import { FAMILIES } from '../datasets/av-world/vocab.js';

/** The reserved policy name for the uncompressed reference (no policy, no budget). */
export const FULL_CACHE = 'full';

const budget = z
  .union([z.number().min(0), z.string()])
  .describe('A ratio of the prompt length (0.2 or "20%") or absolute tokens per KV head (512 or "512t")');

const storageKind = z.enum(STORAGE_KINDS as [StorageKind, ...StorageKind[]]);
const kvStorage = z
  .union([
    storageKind,
    z.strictObject({
      kind: storageKind,
      group: z.number().int().min(GROUP_RANGE.min).max(GROUP_RANGE.max).optional().describe(`G: channels per scale group (int8-fp8, KIVI values) and tokens per KIVI key group (default ${STORAGE_DEFAULTS.group})`),
      residual: z.number().int().min(RESIDUAL_RANGE.min).max(RESIDUAL_RANGE.max).optional().describe(`R: KIVI's full-precision recent tokens (default ${STORAGE_DEFAULTS.residual}; int4/int2 only)`),
    }),
  ])
  .superRefine((s, ctx) => {
    const why = typeof s === 'string' ? undefined : misplacedOption(s);
    if (why) ctx.addIssue({ code: 'custom', message: why });
  })
  .describe('K/V storage: f32, f16, bf16, int8-fp8 (MNN-LLM), int4 or int2 (KIVI), or {kind, group, residual}; see docs/kv-storage.md');

const kvTier = z
  .strictObject({
    coldFraction: z.number().min(0).max(1).optional().describe("Fraction of each KV head's slots held on the tier file"),
    window: z.number().int().min(0).optional().describe('Slots per KV head kept in DRAM; the others go to the tier file'),
    by: z.enum(['age', 'score']).optional().describe("Which slots are cold: a head's oldest (age, default) or its lowest by accumulated attention (score)"),
    sinks: z.number().int().min(0).optional().describe("by score: a head's first slots kept in DRAM (default 4)"),
    recent: z.number().int().min(0).optional().describe("by score: a head's newest slots kept in DRAM (default 64)"),
    scoreEvery: z.number().int().min(1).optional().describe('by score: gather the scoring column sums on every n-th attend of a layer (default 1)'),
    dir: z.string().min(1).optional().describe('Directory of the scratch file (default the OS temp directory); the file is unlinked as soon as it is made'),
    maxBytes: z.number().int().min(1).max(TIER_MAX_BYTES_LIMIT).optional().describe('Most bytes the file may hold (default 64 GiB); past it the trial fails with a "no space" error'),
  })
  .refine((t) => (t.coldFraction === undefined) !== (t.window === undefined), { message: 'give exactly one of coldFraction or window' })
  .refine((t) => t.by === 'score' || (t.sinks === undefined && t.recent === undefined && t.scoreEvery === undefined), { message: 'sinks, recent and scoreEvery apply with by: score only' })
  .describe("DRAM–flash tier (dense storage only): each KV head's oldest (or lowest-scored) slots live in a memory-mapped scratch file; see docs/kv-storage.md");

const schedule = z
  .union([
    z.enum(['after-prefill', 'over-budget']),
    z.strictObject({ every: z.number().int().min(1).describe('Compress every N decode steps') }),
  ])
  .describe('When to compress: "after-prefill" (once), "over-budget" (whenever a layer exceeds its budget) or {every: N}');

const policyEntry = z.union([
  z.string().describe('A registered policy name (or "full" for the uncompressed cache), default options'),
  z.strictObject({
    name: z.string().describe('Registered policy name (see `kvprism schema --policies`), or "full"'),
    label: z.string().optional().describe('Name shown in tables and plots (default: the policy name plus swept options)'),
    options: z
      .record(z.string(), z.unknown())
      .default({})
      .describe('Policy options; any option given as a list is swept (wrap a literal list in a list: [[1, 2]])'),
    schedule: schedule.optional().describe('Overrides the top-level schedule for this policy'),
  }),
  // A policy built from parts; it becomes the registry's "compose" policy with these options,
  // so its options are validated (and swept) exactly as a named policy's.
  z
    .strictObject({
      compose: z
        .record(z.string(), z.unknown())
        .describe('Parts of a composed policy: scorer, scorerOptions, allocator (uniform | pyramid | adakv), reducer (evict | merge); see `kvprism policies --name compose`'),
      label: z.string().optional().describe('Name shown in tables and plots (default: compose(scorer+allocator+reducer))'),
      schedule: schedule.optional().describe('Overrides the top-level schedule for this policy'),
    })
    .transform(({ compose, label, schedule }) => ({
      name: 'compose',
      label: label ?? composedLabel(compose),
      options: compose,
      ...(schedule !== undefined ? { schedule } : {}),
    })),
]);

/** "compose(keydiff+adakv+evict)" from the parts as written (defaults: snapkv, uniform, evict). */
function composedLabel(parts: Record<string, unknown>): string {
  const part = (k: string, def: string) => (typeof parts[k] === 'string' ? (parts[k] as string) : Array.isArray(parts[k]) ? '*' : def);
  return `compose(${part('scorer', 'snapkv')}+${part('allocator', 'uniform')}+${part('reducer', 'evict')})`;
}

const avWorldDataset = z.strictObject({
  kind: z.literal('av-world'),
  preset: z.string().describe('An av-world preset: tiny (≈220 tokens), default (≈1,050) or long (≈4,170)'),
  frames: z.number().int().min(4).optional().describe('Override the preset\'s clip length in video frames'),
  split: z.enum(['train', 'validation', 'test']).default('test').describe('Which split to generate'),
  questionsPerClip: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe('Questions asked of each clip (distinct families; default 1); above 1, samples share clips, which the multi-turn protocol asks in turn'),
  families: z
    .array(z.enum(FAMILIES))
    .min(1)
    .optional()
    .describe('Ask only these question families (default: all six, cycled in order); sample ids then name the subset, so they never match a run over all six'),
});

const jsonlDataset = z.strictObject({
  kind: z.literal('jsonl'),
  path: z.string().describe('A JSONL file of QA samples (format: datasets/README.md); relative to the config file'),
});

export const METRICS = ['accuracy', 'fidelity', 'memory', 'latency', 'attention-mass'] as const;
export type MetricName = (typeof METRICS)[number];

export const BACKENDS = ['auto', 'ts', 'cpu', 'cuda'] as const;

/**
 * When the question meets the cache: inside the compressed prefix (query-aware), fed over a
 * context compressed without it (query-agnostic, kvpress's protocol), asked in turn with the
 * other questions of its clip over one context compressed once (multi-turn), or after a
 * stream the cache was held at budget through (streaming: the context arrives chunk by chunk,
 * a frame at a time by default, and is compressed after each chunk).
 */
export const PROTOCOLS = ['query-aware', 'query-agnostic', 'multi-turn', 'streaming'] as const;
export type Protocol = (typeof PROTOCOLS)[number];
export type BackendChoice = (typeof BACKENDS)[number];
/** The config's `threads`: a count (0 = every core) or 'auto' (chosen by measuring decode). */
export type ThreadsSetting = number | 'auto';

export const experimentConfigSchema = z
  .strictObject({
    extends: z.string().optional().describe('A base config file (relative to this one) whose keys this file overrides'),
    name: z.string().default('experiment').describe('Experiment name (used in the default output directory)'),
    model: z
      .string()
      .describe('A Hugging Face model folder (config.json + model.safetensors + tokenizer), relative to the config file, or "organism" for the bundled AV organism (models/av-organism)'),
    dataset: z.discriminatedUnion('kind', [avWorldDataset, jsonlDataset]).describe('Where the QA samples come from'),
    samples: z.number().int().min(1).default(16).describe('Samples per trial (the first N of the dataset)'),
    seeds: z.array(z.number().int().min(0)).min(1).default([0]).describe('Seeds to sweep: policy randomness and the av-world sample draw'),
    policies: z.array(policyEntry).min(1).describe('Policies to compare; each crossed with every budget and seed'),
    budgets: z.array(budget).min(1).default(['20%']).describe('KV budgets to sweep (ignored by "full")'),
    schedule: schedule.default('after-prefill'),
    backend: z.enum(BACKENDS).default('auto').describe('Attention backend: ts (reference), cpu (native SIMD), cuda (host-copy path: K/V copied to the device per call; explicit only), or auto (native CPU when built, else ts; never the host-copy cuda path)'),
    threads: z
      .union([z.number().int().min(0), z.literal('auto')])
      .default(0)
      .describe('Native CPU threads: a count (0 = every core) or auto (decode speed measured at 1, 2, 4, … threads; the fewest within 5 % of the best are kept, recorded in run_meta.json)'),
    cache: z
      .strictObject({
        dtype: z.enum(['f32', 'f16', 'bf16']).default('f32').describe('K/V storage type (dense floats; cache.storage adds the quantized kinds)'),
        storage: z
          .union([kvStorage, z.array(kvStorage).min(1)])
          .optional()
          .describe('K/V storage (see docs/kv-storage.md), or a list of storages to sweep: every trial runs once per storage, each prefilling its own cache'),
        tier: kvTier.optional(),
        queryAware: z.boolean().default(true).describe('Superseded by `protocol`: false means protocol query-agnostic (when `protocol` is not given)'),
        prefillChunk: z
          .union([z.number().int().min(1), z.literal('frame')])
          .optional()
          .describe('Prefill in chunks of this many tokens, or "frame" (one video frame with the audio that came with it); the policy compresses between chunks under the streaming protocol and under an over-budget / every-N schedule. Default: one pass (streaming: "frame")'),
      })
      .refine((c) => c.storage === undefined || c.dtype === 'f32', { message: 'give cache.dtype or cache.storage, not both', path: ['storage'] })
      .refine((c) => c.tier === undefined || [c.storage ?? c.dtype].flat().every((s) => ['f32', 'f16', 'bf16'].includes(typeof s === 'object' ? s.kind : s)), {
        message: 'cache.tier holds dense K/V: use cache.dtype or a float cache.storage (f32, f16, bf16)',
        path: ['tier'],
      })
      .prefault({})
      .describe('Cache settings shared by every trial'),
    protocol: z
      .union([z.enum(PROTOCOLS), z.array(z.enum(PROTOCOLS)).min(1)])
      .optional()
      .describe('Protocol, or a list to sweep: "query-aware" (the question is inside the compressed prefix), "query-agnostic" (the context is prefilled and compressed before the question is fed over it), "multi-turn" (samples with the same context, i.e. equal prompts up to their trailing text, form one conversation: the context is compressed once, then each question is fed, scored, and followed by its reference answer before the next) or "streaming" (the context is prefilled chunk by chunk — cache.prefillChunk, default one frame — and held at the budget after every chunk; the question arrives after the stream, or at the sample\'s questionAt seconds); default query-aware'),
    sharedPrefill: z
      .boolean()
      .default(true)
      .describe('Prefill each sample once and fork it per trial (trials run sample-major); false runs every trial on its own prefill (same rows, slower; for comparison and debugging)'),
    decodeTokens: z
      .number()
      .int()
      .min(0)
      .default(8)
      .describe('Greedy tokens decoded from the compressed cache after scoring each sample, timed as decode latency'),
    metrics: z
      .array(z.enum(METRICS))
      .default(['accuracy', 'fidelity', 'memory', 'latency'])
      .describe('What to record; "fidelity" runs the full cache once per sample as the reference, "attention-mass" gathers per-layer attention by modality'),
    output: z.string().optional().describe('Output directory (default results/<name>); `--out` overrides'),
  })
  .describe('A kvprism experiment: policies × budgets × seeds over one model and dataset');

/** The config as written (before defaults). */
export type ExperimentConfigInput = z.input<typeof experimentConfigSchema>;
/** The config after defaults. */
export type ExperimentConfig = z.output<typeof experimentConfigSchema>;
export type PolicyEntry = ExperimentConfig['policies'][number];
export type ScheduleSetting = ExperimentConfig['schedule'];
export type DatasetSpec = ExperimentConfig['dataset'];

/** JSON Schema of the config file (what `kvprism schema` prints). */
export function experimentJsonSchema(): unknown {
  return z.toJSONSchema(experimentConfigSchema, { io: 'input', unrepresentable: 'any' });
}
