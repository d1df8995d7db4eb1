/** The retention policies of the catalogue. */
import type { PolicyDefinition } from '../registry.js';
import { retentiveKV } from './retentive-kv.js';

export const RETENTION_POLICIES: PolicyDefinition[] = [retentiveKV];
