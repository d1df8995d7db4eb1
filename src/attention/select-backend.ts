/**
 * Picks the compute backend: 'auto' = CUDA when the addon was built with it and a device is
 * present, else the native CPU kernels when the addon is built, else the TypeScript reference
 * (saying so once). Asking for an unavailable backend by name is an error that says why.
 */
import type { ComputeBackend } from './backend.js';
import { addonLoadError, loadAddon } from './native/addon.js';
import { NativeBackend } from './native/native-backend.js';
import { tsBackend } from './ts-backend.js';

export type BackendChoice = 'auto' | 'ts' | 'cpu' | 'cuda';

export interface SelectBackendOptions {
  /** Worker threads of the native pool (default: KVPRISM_THREADS or the number of cores). */
  threads?: number;
}

let noticeGiven = false;

function notice(line: string): void {
  if (noticeGiven) return;
  noticeGiven = true;
  console.warn(`[kvprism] ${line}`);
}

export function selectBackend(name: BackendChoice = 'auto', opts: SelectBackendOptions = {}): ComputeBackend {
  if (!['auto', 'ts', 'cpu', 'cuda'].includes(name)) {
    throw new RangeError(`selectBackend: backend must be 'auto', 'ts', 'cpu' or 'cuda'; got ${String(name)}`);
  }
  if (opts.threads !== undefined && (!Number.isInteger(opts.threads) || opts.threads < 1)) {
    throw new RangeError(`selectBackend: opts.threads must be an integer ≥ 1; got ${opts.threads}`);
  }
  if (name === 'ts') return tsBackend;
  const addon = loadAddon();
  if (!addon) {
    if (name === 'auto') {
      notice(`native addon unavailable (${addonLoadError()}); running on the TypeScript backend`);
      return tsBackend;
    }
    throw new Error(`backend '${name}' is unavailable: ${addonLoadError()}`);
  }
  if (opts.threads !== undefined) addon.setThreads(opts.threads);
  const cuda = addon.info().cuda;
  if (name === 'cuda' || (name === 'auto' && cuda.devices > 0)) {
    if (cuda.devices > 0) return new NativeBackend(addon, 'cuda');
    throw new Error(
      cuda.built
        ? `backend 'cuda' is unavailable: the addon has CUDA kernels but no CUDA device was found (${cuda.device})`
        : `backend 'cuda' is unavailable: the addon was built without CUDA (rebuild with KVPRISM_CUDA=1 npm run build:native, nvcc required)`,
    );
  }
  return new NativeBackend(addon, 'cpu');
}
