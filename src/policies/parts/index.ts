/** Shared policy parts: selectors, pooling, similarity, merging, plans, allocators, scorers. */
export * from './select.js';
export * from './pool.js';
export * from './similarity.js';
export * from './merge.js';
export * from './plan.js';
export * from './allocators.js';
export * from './scores.js';
export * from './compose.js';
export * from './options.js';
export * from './entropy.js';
