/**
 * The config's `backend` (ts | cpu | cuda | auto) and `threads` (0 = every core) → a
 * ComputeBackend, through the native engineer's selectBackend (which falls back to the TS
 * reference for "auto" when the addon is not built, and explains why a named one is missing).
 */
import type { ComputeBackend } from '../attention/backend.js';
import { selectBackend } from '../attention/select-backend.js';
import type { BackendChoice } from './config-schema.js';

export function resolveBackend(choice: BackendChoice, threads: number): ComputeBackend {
  try {
    return selectBackend(choice, { threads: threads > 0 ? threads : undefined });
  } catch (e) {
    throw new Error(`backend: ${(e as Error).message}`);
  }
}
