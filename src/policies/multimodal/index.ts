/** The multimodal policies of the catalogue. */
import type { PolicyDefinition } from '../registry.js';

export const MULTIMODAL_POLICIES: PolicyDefinition[] = [];
