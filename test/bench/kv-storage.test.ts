/**
 * Smoke run of `npm run bench -- kv-storage` at a tiny size (so the bench never rots): both
 * models' tables land in one file, the f32 rows are the reference, the organism's bytes per
 * token are the storage layouts' exact bytes, and quantization error grows as bits shrink.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../bench/kv-storage.js';

const dir = mkdtempSync(join(tmpdir(), 'kv-storage-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

async function runBench(argv: string[]): Promise<void> {
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
  await main(argv);
}

/** The rows of the table under a heading, as cells. */
function tableAfter(text: string, heading: string): string[][] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith(heading));
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (const l of lines.slice(start + 1)) {
    if (l.startsWith('#') || (l === '' && rows.length > 0)) break;
    if (/^\| [^-]/.test(l) && !l.startsWith('| storage')) rows.push(l.split('|').slice(1, -1).map((c) => c.trim()));
  }
  return rows;
}

describe('kv-storage bench (smoke size)', () => {
  it('writes the stories260K and organism tables with exact bytes and growing error', async () => {
    const out = join(dir, 'results.md');
    await runBench(['--tokens', '24', '--prefill', '8', '--samples', '3', '--long-samples', '0', '--out', out]);
    const text = readFileSync(out, 'utf8');
    expect(text).toContain('Command: `npm run bench -- kv-storage --tokens 24 --prefill 8 --samples 3 --long-samples 0`');
    expect(text).not.toContain('### long preset');
    const stories = tableAfter(text, '## stories260K');
    expect(stories.map((r) => r[0])).toEqual(['f32', 'f16', 'bf16', 'int8-fp8 (G=32)', 'int8-fp8 (G=4)', 'int4 (G=32, R=128)', 'int4 (G=32, R=0)', 'int2 (G=32, R=128)', 'int2 (G=32, R=0)']);
    const organism = tableAfter(text, '### default preset: N = 3 samples');
    const row = (label: string): string[] => organism.find((r) => r[0] === label)!;
    expect(organism).toHaveLength(9);
    // 4 layers × 2 KV heads, head dim 32: f32 = 8 · (8 · 32); int8-fp8 G = 32 = 8 · (2 · 32 + 12 · 1); G = 4 = 8 · (64 + 12 · 8).
    expect(row('f32').slice(1, 8)).toEqual(['0', '0', '0', '0 %', row('f32')[5]!, '2048.0', '1.000']);
    expect(row('int8-fp8 (G=32)')[6]).toBe('608.0');
    expect(row('int8-fp8 (G=4)')[6]).toBe('1280.0');
    expect(row('f16')[6]).toBe('1024.0');
    for (const r of organism) {
      const acc = Number(r[5]);
      expect(acc).toBeGreaterThanOrEqual(0);
      expect(acc).toBeLessThanOrEqual(1);
    }
    // 2-bit codes with no f32 window lose more of the distribution than f16 halves.
    expect(Number(row('int2 (G=32, R=0)')[1])).toBeGreaterThan(Number(row('f16')[1]));
    expect(Number(row('f16')[1])).toBeGreaterThan(0);
  }, 240_000); // ~10 s of CPU; the shared machine can stretch it

  it('names the flag it cannot use', async () => {
    await expect(runBench(['--samples', '0'])).rejects.toThrow(/--samples takes an integer ≥ 1; got 0/);
    await expect(runBench(['--long-samples', 'x'])).rejects.toThrow(/--long-samples takes an integer ≥ 0; got x/);
    await expect(runBench(['--backend', 'gpu'])).rejects.toThrow(/--backend takes auto, ts or cpu; got gpu/);
    await expect(runBench(['--tokens', '8', '--prefill', '8'])).rejects.toThrow(/need --prefill < --tokens/);
  });
});
