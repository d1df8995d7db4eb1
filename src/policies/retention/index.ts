/** The retention policies of the catalogue. */
import type { PolicyDefinition } from '../registry.js';

export const RETENTION_POLICIES: PolicyDefinition[] = [];
