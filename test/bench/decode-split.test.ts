/**
 * Smoke run of `npm run bench -- decode-split` at a tiny size (so the bench never rots): one
 * table row per context × cache, and the columns add up to the step time.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../bench/decode-split.js';

afterEach(() => vi.restoreAllMocks());

async function runBench(argv: string[]): Promise<string[]> {
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  await main(argv);
  return lines;
}

describe('decode-split bench (smoke size)', () => {
  it('splits each case\'s step into columns that add up', async () => {
    const lines = await runBench(['--contexts', '48,96', '--decode', '6', '--threads', '1', '--backend', 'ts']);
    const rows = lines.filter((l) => /^\| \d/.test(l)).map((l) => l.split('|').map((c) => c.trim()).filter((c) => c !== ''));
    expect(rows.map((r) => `${r[0]} ${r[1]}`)).toEqual(['48 full', '48 SnapKV 20 %', '96 full', '96 SnapKV 20 %']);
    for (const r of rows) {
      const [step, attention, linear, small, compress, overhead] = r.slice(4, 10).map(Number);
      expect(step).toBeGreaterThan(0);
      expect(attention! + linear! + small! + compress! + overhead!).toBeCloseTo(step!, 2);
    }
    // SnapKV keeps a fifth of the slots: its K/V bytes are below the full cache's.
    expect(rows[1]![2]).not.toBe(rows[0]![2]);
  });

  it('names the flag it cannot use', async () => {
    await expect(runBench(['--budget', '1.5'])).rejects.toThrow(/--budget takes a fraction in \(0, 1\)/);
    await expect(runBench(['--threads', 'many'])).rejects.toThrow(/--threads takes an integer ≥ 0 \(0 = every core\) or auto/);
    await expect(runBench(['--contexts', '0'])).rejects.toThrow(/--contexts takes positive integers/);
  });
});
