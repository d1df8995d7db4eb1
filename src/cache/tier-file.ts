/**
 * One session's DRAM–flash tier file (native/src/cpu/tier_file.cpp): a scratch file in the
 * tier's directory, unlinked as soon as it exists (a killed process leaves nothing) and mapped
 * into memory; cold K/V stripes are typed arrays over regions of it. Disk is reserved when a
 * region is made, so a full disk is an Error here ("no space left … (ENOSPC)"), never a fault.
 */
import type { KVBuffer, KVDType } from '../attention/backend.js';
import { addonLoadError, loadAddon, type NativeAddon, type TierHandle } from '../attention/native/addon.js';
import { bytesPerElement } from '../util/half.js';
import type { TierSpec } from './tier-spec.js';

export class TierFile {
  private closed = false;

  private constructor(
    private readonly addon: NativeAddon,
    private readonly handle: TierHandle,
    readonly dir: string,
  ) {}

  /** Opens a session's file in spec.dir; errors name the directory and why (`where`: the option's name). */
  static open(spec: TierSpec, where = 'tier'): TierFile {
    const addon = loadAddon();
    if (!addon) throw new Error(`${where}: the DRAM–flash tier needs the native addon (${addonLoadError()})`);
    try {
      return new TierFile(addon, addon.tierOpen(spec.dir, spec.maxBytes), spec.dir);
    } catch (err) {
      throw new Error(`${where}.dir = ${spec.dir}: ${message(err)}`);
    }
  }

  /** A zeroed buffer of n elements of dtype in the file. */
  alloc(dtype: KVDType, n: number): KVBuffer {
    if (this.closed) throw new Error(`tier file in ${this.dir}: the session closed it`);
    const bytes = Math.max(1, n * bytesPerElement(dtype));
    let memory: ArrayBuffer;
    try {
      memory = this.addon.tierAlloc(this.handle, bytes);
    } catch (err) {
      throw new Error(message(err));
    }
    return dtype === 'f32' ? new Float32Array(memory, 0, n) : new Uint16Array(memory, 0, n);
  }

  /** Gives a buffer from alloc back (its disk is freed; it must not be used afterwards). */
  release(buf: KVBuffer): void {
    if (!this.closed) this.addon.tierRelease(this.handle, buf.buffer as ArrayBuffer);
  }

  /** Asks the OS to read these bytes ahead of use (the next layer's cold rows). */
  prefetch(view: KVBuffer): void {
    if (view.length > 0) this.addon.tierPrefetch(view);
  }

  /** Bytes of the file's live regions (capacity, not just valid rows). */
  liveBytes(): number {
    return this.closed ? 0 : this.addon.tierLiveBytes(this.handle);
  }

  /**
   * Writes the file's pages back and asks the OS to drop them from memory, as memory pressure
   * would: the next attends read the cold rows from the device (benchmarks of the tier).
   */
  evict(): void {
    if (!this.closed) this.addon.tierEvict(this.handle);
  }

  /** Returns the file's disk; buffers from it read zeros afterwards. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.addon.tierClose(this.handle);
  }
}

function message(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/^kvprism native /, '');
}
