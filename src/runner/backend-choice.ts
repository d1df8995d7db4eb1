/**
 * The config's `backend` (ts | cpu | cuda | auto) and `threads` (0 = every core, a count, or
 * auto) → a ComputeBackend, through the native engineer's selectBackend (which falls back to
 * the TS reference for "auto" when the addon is not built, and explains why a named one is
 * missing). `threads: auto` starts on every core; once the model is loaded, settleThreads
 * measures decode at each thread count and keeps the fewest within 5 % of the best.
 */
import type { ComputeBackend } from '../attention/backend.js';
import { NativeBackend } from '../attention/native/native-backend.js';
import { selectBackend } from '../attention/select-backend.js';
import { chooseDecodeThreads, DEFAULT_THREAD_SLOWDOWN, type DecodeThreadsOptions, type ThreadChoice } from '../model/decode-threads.js';
import type { Model } from '../model/model.js';
import type { BackendChoice, ThreadsSetting } from './config-schema.js';

export function resolveBackend(choice: BackendChoice, threads: ThreadsSetting): ComputeBackend {
  if (threads !== 'auto' && (!Number.isInteger(threads) || threads < 0)) throw new RangeError(`threads: expected an integer ≥ 0 (0 = every core) or 'auto'; got ${String(threads)}`);
  try {
    return selectBackend(choice, { threads: threads !== 'auto' && threads > 0 ? threads : undefined });
  } catch (e) {
    throw new Error(`backend: ${(e as Error).message}`);
  }
}

/**
 * For `threads: 'auto'`: chooses the decode thread count on `model` (whose backend must be the
 * one resolveBackend returned) and leaves the native pool there; undefined for a fixed count.
 * A backend without a native pool (ts) measures nothing and records why.
 */
export function settleThreads(model: Model, threads: ThreadsSetting, opts: DecodeThreadsOptions = {}): ThreadChoice | undefined {
  if (threads !== 'auto') return undefined;
  const backend = model.backend;
  if (backend instanceof NativeBackend) return chooseDecodeThreads(model, backend, opts);
  return { chosen: 1, slowdown: opts.slowdown ?? DEFAULT_THREAD_SLOWDOWN, speeds: [], measuredOn: `backend ${backend.name} has no native thread pool; nothing measured` };
}
