/**
 * kvprism public API. Everything a library user imports comes from here; internal modules
 * may move between releases.
 */

// Cache manager
export { MODALITIES, ModalityCode, modalityCode, modalityName, isModality, type Modality } from './cache/modality.js';
export { allocTokenMeta, textMeta, concatTokenMeta, sliceTokenMeta, validateTokenMeta, type TokenMeta } from './cache/token-meta.js';
export { parseBudget, resolveBudget, validateBudget, type BudgetSpec } from './cache/budget.js';
export { DEFAULT_SCHEDULE, shouldCompress, type Schedule } from './cache/schedule.js';
export { LayerCache, type LayerCacheOptions, type LayerBytes } from './cache/layer-cache.js';
export { allocCacheKV } from './cache/kv-alloc.js';
export { storageSpec, STORAGE_KINDS, STORAGE_DEFAULTS, GROUP_RANGE, RESIDUAL_RANGE, type KVStorage, type StorageKind, type StorageSpec, type StorageCounts } from './cache/storage-spec.js';
export { f32ToFp8E4m3, fp8E4m3ToF32, FP8_E4M3_MAX } from './cache/quantization/fp8-e4m3.js';
export { CacheSession } from './cache/cache-session.js';
export { tierSpec, TIER_DEFAULT_MAX_BYTES, TIER_DEFAULT_RECENT, TIER_DEFAULT_SINKS, type TierOptions, type TierOrder, type TierSpec } from './cache/tier-spec.js';
export { TierFile } from './cache/tier-file.js';
export { staticLayerView, type StaticHead, type StaticViewSpec } from './cache/static-view.js';
export type { CacheSessionApi, CacheSessionOptions, CacheBytes, SessionForkOptions } from './cache/session-types.js';

// Attention backends and statistics
export type { ComputeBackend, BackendName, KVDType, KVLayout, CodedKV, CodedHeadArrays, TierLayout, AttendArgs, AttendResult, LinearWeight } from './attention/backend.js';
export { ALL_STAT_NEEDS, mergeNeeds, type StatNeeds, type AttentionStats } from './attention/stats.js';
export { referenceAttend } from './attention/reference-attention.js';
export { tsBackend } from './attention/ts-backend.js';
export { chooseBackend, selectBackend, type BackendChoice, type BackendSelection } from './attention/select-backend.js';

// Policies
export type { PolicyInstance, PolicyContext, LayerView, Plan, HeadPlan, MergeOp, RetentionStore, Phase, LayerAllocationArgs, SecondPass, RepeatObservation, KeyChannelPlan } from './cache/policy-api.js';
export { definePolicy, PolicyRegistry, nearestName, type PolicyDefinition, type PolicyEnv, type PaperRef, type PolicyKind, type DeclaredTraits } from './policies/registry.js';
export { policies, ALL_POLICIES } from './policies/catalog.js';
export * as parts from './policies/parts/index.js';
export { policyTraits, type PolicyTraits } from './policies/traits.js';
export { SCORERS, SCORER_NAMES, type ScorerName, type BoundScorer } from './policies/compose/scorers.js';
export { COMPOSED_POLICY, ALLOCATORS, REDUCERS, type AllocatorName } from './policies/compose/composed.js';
export { KEY_REROTATION, withKeyRerotation } from './policies/compose/key-rerotation.js';
export { THINK, withThink } from './policies/think.js';
export { channelScores, keptChannelCount, topChannels } from './policies/think-channels.js';
export type { PrunedKeyLayout } from './attention/pruned-keys.js';
export { rotateKeyRow, type KeyRerotation } from './cache/key-rerotation.js';
export { StateSpaceMemory, LinearState } from './ssm/index.js';
export { RETENTIVEKV_EARLIER_READING } from './policies/retention/retentive-kv.js';

// Model runtime
export { loadModel, parameterCount, kvBytesPerToken, type Model, type LoadModelOptions } from './model/model.js';
export { Decoder } from './model/decoder.js';
export { runSecondPass, observeRepeat, repeatPrompt, repeatChunks } from './model/second-pass.js';
export { Sequence, type RuntimeSessionOptions } from './model/sequence.js';
export {
  chooseDecodeThreads,
  selectThreads,
  fewestThreadsWithin,
  threadCandidates,
  DEFAULT_THREAD_SLOWDOWN,
  type ThreadChoice,
  type ThreadSpeed,
  type ThreadPool,
  type DecodeThreadsOptions,
} from './model/decode-threads.js';
export { generate, type GenerateOptions, type GenerateResult } from './model/generate.js';
export { scoreChoices, prepareSample, scorePrefilled, type ChoiceScores, type PreparedSample } from './model/score.js';
export { fidelity, type FidelityResult } from './model/fidelity.js';
export { createPolicy, policyEnvFor } from './model/policy-for-model.js';
export { loadTokenizer, type TextTokenizer } from './model/tokenizer.js';
export { OnnxEncoder } from './model/onnx-encoder.js';
export { SafetensorsFile, Checkpoint } from './model/safetensors.js';
export { initModel, type InitModelOptions } from './model/init-model.js';
export { writeLlamaGguf, permuteRopeRows, type LlamaGgufSummary } from './model/gguf-llama.js';
export { writeGguf, buildGgufHeader, type GgufValue, type GgufTensorSpec, type GgmlTensorType } from './model/gguf-write.js';
export { VisionTower } from './model/towers/vision-tower.js';
export { AudioTower } from './model/towers/audio-tower.js';
export { towerParameterCount, type Towers } from './model/towers/load-towers.js';
export { visionTokenCount, audioTokenCount, type PatchGrid } from './model/towers/token-counts.js';
export type { VisionTowerConfig, AudioTowerConfig, TowerConfigs } from './model/towers/tower-config.js';
export type { Prompt, PromptSegment, TextSegment, TokenSegment, EmbeddingSegment, FeatureSegment, MediaSegment, QASample, Positioned } from './model/prompt.js';
export { isGenerationSample, DEFAULT_MAX_NEW_TOKENS, type GenerationSample } from './model/prompt.js';
export { buildChatPrompt, userTurn, type ChatPrompt, type ChatPromptOptions } from './model/families/chat-prompt.js';
export { loadChatTemplate, renderChatTemplate, type ChatMessage, type ChatContentPart, type ChatTemplate } from './model/families/chat-template.js';
export { expandMedia, type ExpandedPrompt, type ExpandContext } from './model/families/expand-media.js';
export { familyFromConfig, loadFamily, type Family, type FamilyName, type RopeIndexRules } from './model/families/family.js';
export type { MediaInput, ImageMedia, VideoMedia, AudioMedia, PatchGridSize } from './model/families/media.js';
export { qwen2VLTemporalIds, qwen25VLTemporalIds, qwen25VLTemporalIdsV5, omniTemporalIds, MropeIdWriter } from './model/families/mrope-ids.js';
export { chunkedIndex } from './model/families/audio-in-video.js';

// Media in (video, image and audio files → tower inputs)
export * as media from './model/media/index.js';
export { readVideo, readImage, readAudio, loadPreprocessorConfig, MediaError, type VisualInput, type AudioInput } from './model/media/index.js';

// Datasets and experiments
export { avWorldSamples, type AvWorldOptions } from './datasets/av-world/index.js';
export { IMPORTERS, runImport, formatSummary, ImportError, MVBENCH_TASKS, type ImportRequest, type ImportSummary, type Importer, type ImporterOptions } from './datasets/importers/index.js';
export { runExperiment, type RunOptions, type RunSummary } from './runner/run-experiment.js';
export { resolveBackend, settleThreads } from './runner/backend-choice.js';
export { MediaPromptResolver } from './runner/media-prompt.js';
export { acquireRunLock, RunLockedError, type LockOwner, type RunLock } from './runner/run-lock.js';
export { type PredictionLine } from './runner/predictions.js';
export { readPredictions } from './runner/predictions-store.js';
export { loadJsonlDataset, indexJsonlDataset, type SampleInfo } from './runner/jsonl-dataset.js';
export { LazyJsonlDataset } from './runner/lazy-jsonl.js';
export { probeEmbeddingFile, readEmbeddingFile, type EmbeddingFileInfo } from './runner/embedding-file.js';
export { evidenceKept, evidenceKeptInSpans, sampleEvidenceKept } from './runner/evidence-recall.js';
export { generationScores, corpusBleu, corpusRougeL, rougeL, corpusCider, exactMatch, containsAnswer, normaliseAnswer, metricTokens, type GenerationScores } from './runner/text-metrics/index.js';
export { tokenAgreement, type GeneratedText } from './runner/generation-executor.js';
export { compareRuns, compareTable, type CompareOptions, type PairComparison, type MetricComparison } from './runner/report/compare.js';
export { bootstrapMean, verdict, type MeanInterval, type BootstrapOptions, type Verdict } from './runner/stats/bootstrap.js';
