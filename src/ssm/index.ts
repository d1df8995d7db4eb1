/** State-space memory: the retention substrate of RetentiveKV (arXiv 2605.04075). */
export { FEATURE_MAPS, applyFeatureMap, type FeatureMap } from './feature-map.js';
export { LinearState } from './linear-state.js';
export { StateSpaceMemory, type StateMemoryOptions, type StateLayout, type Retrieval, type Combine } from './state-memory.js';
