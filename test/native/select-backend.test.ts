/** selectBackend: names, availability errors, and 'auto' picking the native CPU kernels when built. */
import { describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/attention/select-backend.js';
import { loadAddon } from '../../src/attention/native/addon.js';

const addon = loadAddon();

describe('selectBackend', () => {
  it("'ts' is always the TypeScript reference", () => {
    expect(selectBackend('ts').name).toBe('ts');
  });

  it('rejects unknown names and bad thread counts', () => {
    expect(() => selectBackend('gpu' as never)).toThrow(/'auto', 'ts', 'cpu' or 'cuda'/);
    expect(() => selectBackend('cpu', { threads: 0 })).toThrow(/threads/);
  });

  it.skipIf(!addon)("'auto' and 'cpu' give the native CPU backend when the addon is built", () => {
    const cuda = addon!.info().cuda.devices > 0;
    expect(selectBackend('auto').name).toBe(cuda ? 'cuda' : 'cpu');
    const cpu = selectBackend('cpu', { threads: 2 });
    expect(cpu.name).toBe('cpu');
    expect(addon!.info().threads).toBe(2);
  });

  it.skipIf(!addon || addon.info().cuda.devices > 0)("'cuda' without a device is a clear error", () => {
    expect(() => selectBackend('cuda')).toThrow(/backend 'cuda' is unavailable/);
  });
});
