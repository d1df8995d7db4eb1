/**
 * Picks the compute backend and says why. 'auto' = the native CPU kernels when the addon is
 * built, else the TypeScript reference. 'auto' never picks CUDA today: the `cuda` backend is a
 * host-copy path (each attention call copies the layer's whole K/V to the device and back, and
 * every GEMM stays on the CPU), which is slower than the CPU kernels on every shape measured;
 * it stays an explicit choice (`backend: cuda`) for testing the CUDA kernels. Asking for an
 * unavailable backend by name is an error that says why.
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

/** The backend a choice resolved to, and one line saying why (recorded in run_meta.json). */
export interface BackendSelection {
  backend: ComputeBackend;
  reason: string;
}

export function selectBackend(name: BackendChoice = 'auto', opts: SelectBackendOptions = {}): ComputeBackend {
  return chooseBackend(name, opts).backend;
}

export function chooseBackend(name: BackendChoice = 'auto', opts: SelectBackendOptions = {}): BackendSelection {
  if (!['auto', 'ts', 'cpu', 'cuda'].includes(name)) {
    throw new RangeError(`selectBackend: backend must be 'auto', 'ts', 'cpu' or 'cuda'; got ${String(name)}`);
  }
  if (opts.threads !== undefined && (!Number.isInteger(opts.threads) || opts.threads < 1)) {
    throw new RangeError(`selectBackend: opts.threads must be an integer ≥ 1; got ${opts.threads}`);
  }
  if (name === 'ts') return { backend: tsBackend, reason: "asked for 'ts'" };
  const addon = loadAddon();
  if (!addon) {
    if (name === 'auto') {
      const reason = `native addon unavailable (${addonLoadError()}); running on the TypeScript backend`;
      notice(reason);
      return { backend: tsBackend, reason };
    }
    throw new Error(`backend '${name}' is unavailable: ${addonLoadError()}`);
  }
  if (opts.threads !== undefined) addon.setThreads(opts.threads);
  const cuda = addon.info().cuda;
  if (name === 'cuda') {
    if (cuda.devices > 0) return { backend: new NativeBackend(addon, 'cuda'), reason: `asked for 'cuda' (host-copy path: K/V copied to ${cuda.device} per attention call)` };
    throw new Error(
      cuda.built
        ? `backend 'cuda' is unavailable: the addon has CUDA kernels but no CUDA device was found (${cuda.device})`
        : `backend 'cuda' is unavailable: the addon was built without CUDA (rebuild with KVPRISM_CUDA=1 npm run build:native, nvcc required)`,
    );
  }
  if (name === 'cpu') return { backend: new NativeBackend(addon, 'cpu'), reason: "asked for 'cpu'" };
  const reason =
    cuda.devices > 0
      ? `auto: native CPU kernels; CUDA device ${cuda.device} present but not picked, because the cuda backend copies K/V to the device on every call (ask for backend: cuda to use it anyway)`
      : 'auto: native CPU kernels (no CUDA device)';
  if (cuda.devices > 0) notice(reason);
  return { backend: new NativeBackend(addon, 'cpu'), reason };
}
