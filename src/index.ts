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
export { CacheSession } from './cache/cache-session.js';
export { staticLayerView, type StaticHead, type StaticViewSpec } from './cache/static-view.js';
export type { CacheSessionApi, CacheSessionOptions, CacheBytes, SessionForkOptions } from './cache/session-types.js';

// Attention backends and statistics
export type { ComputeBackend, BackendName, KVDType, KVLayout, AttendArgs, AttendResult, LinearWeight } from './attention/backend.js';
export { ALL_STAT_NEEDS, mergeNeeds, type StatNeeds, type AttentionStats } from './attention/stats.js';
export { referenceAttend } from './attention/reference-attention.js';
export { tsBackend } from './attention/ts-backend.js';
export { selectBackend, type BackendChoice } from './attention/select-backend.js';

// Policies
export type { PolicyInstance, PolicyContext, LayerView, Plan, HeadPlan, MergeOp, RetentionStore, Phase, LayerAllocationArgs } from './cache/policy-api.js';
export { definePolicy, PolicyRegistry, nearestName, type PolicyDefinition, type PolicyEnv, type PaperRef, type PolicyKind } from './policies/registry.js';
export { policies, ALL_POLICIES } from './policies/catalog.js';
export * as parts from './policies/parts/index.js';
export { StateSpaceMemory, LinearState } from './ssm/index.js';

// Model runtime
export { loadModel, parameterCount, kvBytesPerToken, type Model, type LoadModelOptions } from './model/model.js';
export { Decoder } from './model/decoder.js';
export { Sequence, type RuntimeSessionOptions } from './model/sequence.js';
export { generate, type GenerateOptions, type GenerateResult } from './model/generate.js';
export { scoreChoices, prepareSample, scorePrefilled, type ChoiceScores, type PreparedSample } from './model/score.js';
export { fidelity, type FidelityResult } from './model/fidelity.js';
export { createPolicy } from './model/policy-for-model.js';
export { loadTokenizer, type TextTokenizer } from './model/tokenizer.js';
export { OnnxEncoder } from './model/onnx-encoder.js';
export { SafetensorsFile, Checkpoint } from './model/safetensors.js';
export { initModel, type InitModelOptions } from './model/init-model.js';
export type { Prompt, PromptSegment, TextSegment, TokenSegment, EmbeddingSegment, FeatureSegment, QASample } from './model/prompt.js';

// Datasets and experiments
export { avWorldSamples, type AvWorldOptions } from './datasets/av-world/index.js';
export { runExperiment, type RunOptions, type RunSummary } from './runner/run-experiment.js';
