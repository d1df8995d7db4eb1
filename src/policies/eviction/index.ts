/** The eviction policies of the catalogue. */
import type { PolicyDefinition } from '../registry.js';

export const EVICTION_POLICIES: PolicyDefinition[] = [];
