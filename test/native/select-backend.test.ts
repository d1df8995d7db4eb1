/** selectBackend: names, availability errors, and 'auto' picking the native CPU kernels when built (never the host-copy CUDA path). */
import { describe, expect, it } from 'vitest';
import { chooseBackend, selectBackend } from '../../src/attention/select-backend.js';
import { loadAddon } from '../../src/attention/native/addon.js';

const addon = loadAddon();

describe('selectBackend', () => {
  it("'ts' is always the TypeScript reference", () => {
    expect(selectBackend('ts').name).toBe('ts');
  });

  it('says why it picked what it picked', () => {
    expect(chooseBackend('ts').reason).toBe("asked for 'ts'");
    if (addon) expect(chooseBackend('cpu').reason).toBe("asked for 'cpu'");
    else expect(chooseBackend('auto').reason).toMatch(/native addon unavailable/);
  });

  it('rejects unknown names and bad thread counts', () => {
    expect(() => selectBackend('gpu' as never)).toThrow(/'auto', 'ts', 'cpu' or 'cuda'/);
    expect(() => selectBackend('cpu', { threads: 0 })).toThrow(/threads/);
  });

  it.skipIf(!addon)("'auto' and 'cpu' give the native CPU backend when the addon is built", () => {
    // 'auto' never picks the cuda backend: it copies K/V to the device on every call.
    const auto = chooseBackend('auto');
    expect(auto.backend.name).toBe('cpu');
    expect(auto.reason).toMatch(addon!.info().cuda.devices > 0 ? /not picked, because the cuda backend copies K\/V/ : /no CUDA device/);
    const cpu = selectBackend('cpu', { threads: 2 });
    expect(cpu.name).toBe('cpu');
    expect(addon!.info().threads).toBe(2);
  });

  it.skipIf(!addon || addon.info().cuda.devices > 0)("'cuda' without a device is a clear error", () => {
    expect(() => selectBackend('cuda')).toThrow(/backend 'cuda' is unavailable/);
  });
});
