/** The merging policies of the catalogue. */
import type { PolicyDefinition } from '../registry.js';

export const MERGING_POLICIES: PolicyDefinition[] = [];
