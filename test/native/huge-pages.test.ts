import { afterEach, describe, expect, it } from 'vitest';
import { platform } from 'node:os';
import { loadAddon } from '../../src/attention/native/addon.js';
import { allocCacheKV, HUGE_PAGE_MIN_BYTES } from '../../src/cache/kv-alloc.js';
import { LayerCache } from '../../src/cache/layer-cache.js';
import { textMeta } from '../../src/cache/token-meta.js';
import { rowOf, tokenMajor } from '../core/fixtures.js';

const addon = loadAddon();
const saved = process.env.KVPRISM_HUGE_PAGES;
afterEach(() => {
  if (saved === undefined) delete process.env.KVPRISM_HUGE_PAGES;
  else process.env.KVPRISM_HUGE_PAGES = saved;
});

describe('K/V buffers on huge pages', () => {
  it.skipIf(!addon)('adviseHugePages advises only whole 2 MiB pages inside the buffer and rejects non-buffers', () => {
    const small = new Float32Array(1024);
    expect(addon!.adviseHugePages(small)).toBe(0); // no 2 MiB page inside 4 KiB
    const big = new Float32Array(4 << 20); // 16 MiB
    const advised = addon!.adviseHugePages(big);
    if (platform() === 'linux') {
      // Advice is refused only when the kernel has no THP; otherwise at least 14 MiB of 16 qualify.
      expect(advised === 0 || advised >= 14 << 20).toBe(true);
      expect(advised % (2 << 20)).toBe(0);
    } else expect(advised).toBe(0);
    expect(advised).toBeLessThanOrEqual(big.byteLength);
    expect(() => addon!.adviseHugePages({} as unknown as Float32Array)).toThrow(/adviseHugePages: buffer must be a typed array/);
  });

  it.skipIf(!addon)('allocKV gives zeroed, writable memory of the exact size and rejects bad sizes', () => {
    for (const bytes of [1, 4096 + 12, 5 << 20]) {
      const memory = addon!.allocKV(bytes);
      expect(memory).toBeInstanceOf(ArrayBuffer);
      expect(memory.byteLength).toBe(bytes);
      const view = new Uint8Array(memory);
      expect(view.every((x) => x === 0)).toBe(true);
      view[bytes - 1] = 9; // the last byte is inside the mapping
      expect(view[bytes - 1]).toBe(9);
    }
    for (const bad of [0, -1, 1.5, 2 ** 47, Number.NaN])
      expect(() => addon!.allocKV(bad), String(bad)).toThrow(/allocKV: bytes/);
    expect(() => addon!.allocKV('8' as unknown as number)).toThrow(/allocKV: bytes/);
  });

  it('allocCacheKV gives a zeroed buffer of the dtype and length, advice on or off', () => {
    for (const env of ['1', '0']) {
      process.env.KVPRISM_HUGE_PAGES = env;
      for (const dtype of ['f32', 'f16', 'bf16'] as const) {
        const n = HUGE_PAGE_MIN_BYTES / 2 + 7;
        const b = allocCacheKV(dtype, n);
        expect(b).toBeInstanceOf(dtype === 'f32' ? Float32Array : Uint16Array);
        expect(b.length).toBe(n);
        expect(b.every((x) => x === 0)).toBe(true);
      }
    }
  });

  it('a LayerCache growing past the threshold keeps its contents (buffers reallocated through allocCacheKV)', () => {
    const [H, d, n] = [2, 64, 9000]; // K and V grow to 2 × 16384 × 64 × 4 B = 8 MiB each
    const cache = new LayerCache({ layer: 0, kvHeads: H, headDim: d, initialCapacity: 4 });
    const k = tokenMajor(n, H, d, (t, h, i) => ((t * 7 + h * 3 + i) % 17) - 8);
    cache.append(k.subarray(0, 3 * H * d), k.subarray(0, 3 * H * d), textMeta(3));
    cache.append(k.subarray(3 * H * d), k.subarray(3 * H * d), textMeta(n - 3, 3));
    const { keys, values, capacity } = cache.layout();
    expect(keys.byteLength).toBeGreaterThanOrEqual(HUGE_PAGE_MIN_BYTES);
    for (const t of [0, 2, 3, 4096, n - 1])
      for (let h = 0; h < H; h++) {
        const want = Array.from(rowOf(k, t, h, H, d));
        expect(Array.from(keys.subarray((h * capacity + t) * d, (h * capacity + t + 1) * d))).toEqual(want);
        expect(Array.from(values.subarray((h * capacity + t) * d, (h * capacity + t + 1) * d))).toEqual(want);
      }
  });
});
