/**
 * Smoke run of `npm run bench -- gemv` (one layer, one round): f32 and bf16 rows for the current
 * build and a baseline build timed in the same run, and a clear error for a baseline that is
 * not an addon.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../bench/gemv.js';
import { loadAddon } from '../../src/attention/native/addon.js';

afterEach(() => vi.restoreAllMocks());

async function runBench(argv: string[]): Promise<string[]> {
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  await main(argv);
  return lines;
}

const ADDON = join(import.meta.dirname, '../../build/Release/kvprism.node');

describe.skipIf(!loadAddon())('gemv bench (smoke size)', () => {
  it('times the current build and a baseline build on one token\'s weights, f32 and bf16', async () => {
    const lines = await runBench(['--layers', '1', '--rounds', '1', '--threads', '1', '--baseline', ADDON]);
    const rows = lines.filter((l) => /^\| (f32|bf16) \|/.test(l)).map((l) => l.split('|').map((c) => c.trim()).filter((c) => c));
    expect(rows.map((r) => `${r[0]} ${r[1]}`)).toEqual(['f32 current', 'f32 baseline', 'bf16 current', 'bf16 baseline']);
    // One layer + the LM head: 7 matrices of 576-wide rows and 49152×576, in 4 or 2 bytes.
    const weights = 576 * 576 * 2 + 2 * 192 * 576 + 3 * 1536 * 576 + 49152 * 576;
    expect(Number(rows[0]![3])).toBeCloseTo(((weights + 3 * 576) * 4) / 1e6, 1);
    expect(Number(rows[2]![3])).toBeCloseTo(((weights + 3 * 576) * 2) / 1e6, 1);
    for (const r of rows) expect(Number(r[2])).toBeGreaterThan(0);
    expect(rows[1]![7]).toMatch(/^\d+\.\d+×$/);
  });

  it('names a baseline that is not an addon', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvprism-gemv-'));
    try {
      const bad = join(dir, 'not-an-addon.node');
      writeFileSync(bad, 'plain text');
      await expect(runBench(['--layers', '1', '--rounds', '1', '--baseline', bad])).rejects.toThrow(/--baseline .*not-an-addon\.node: cannot load as the kvprism addon/);
      await expect(runBench(['--layers', '0'])).rejects.toThrow(/--layers must be an integer ≥ 1; got 0/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
