/** The catalogue of every registered policy: one line per policy family. */
import { PolicyRegistry, type PolicyDefinition } from './registry.js';
import { EVICTION_POLICIES } from './eviction/index.js';
import { MERGING_POLICIES } from './merging/index.js';
import { MULTIMODAL_POLICIES } from './multimodal/index.js';
import { RETENTION_POLICIES } from './retention/index.js';
import { composed } from './compose/composed.js';
import { keyRerotationPolicy } from './compose/key-rerotation.js';
import { thinkPolicy } from './think.js';

export const ALL_POLICIES: readonly PolicyDefinition[] = [
  ...EVICTION_POLICIES,
  ...MERGING_POLICIES,
  ...MULTIMODAL_POLICIES,
  ...RETENTION_POLICIES,
  composed,
  // Wraps any catalogue policy (looked up when bound, so after this list exists).
  keyRerotationPolicy(() => policies),
  thinkPolicy(() => policies),
];

export const policies = new PolicyRegistry(ALL_POLICIES);
