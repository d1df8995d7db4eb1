/** The multimodal policies of the catalogue. */
import type { PolicyDefinition } from '../registry.js';
import { accKV } from './acckv.js';
import { saint } from './saint.js';

export const MULTIMODAL_POLICIES: PolicyDefinition[] = [accKV, saint];
