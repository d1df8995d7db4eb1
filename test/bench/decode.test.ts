/**
 * Smoke run of `npm run bench -- decode` at tiny-llama size (so the bench never rots): our
 * rows and, when node-llama-cpp is installed, llama.cpp's row per depth, each with its bytes
 * per token and fraction of the byte limit; without llama.cpp the bench says how to install it.
 * Also the byte accounting the limit rests on.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { byteLimitFraction, weightBytesPerToken } from '../../bench/_byte-limit.js';
import { llamaCppInstalled } from '../../bench/_llama-cpp.js';
import { main } from '../../bench/decode.js';
import { loadAddon } from '../../src/attention/native/addon.js';
import { initModel } from '../../src/model/init-model.js';
import { parseModelConfig } from '../../src/model/config.js';
import { loadModel, parameterCount } from '../../src/model/model.js';
import { PRESETS } from '../../src/model/presets.js';

let dir: string;
beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), 'kvprism-decode-bench-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

async function runBench(argv: string[]): Promise<string[]> {
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  await main(argv);
  return lines;
}

const cells = (line: string): string[] => line.split('|').map((c) => c.trim()).filter((c) => c !== '');
const TINY = ['--preset', 'tiny-llama', '--contexts', '48', '--decode', '3', '--dtypes', 'f32', '--threads', '1'];

describe('decode bench (smoke size)', () => {
  it('prints our rows and llama.cpp\'s per depth, each with its fraction of the byte limit', async () => {
    const lines = await runBench([...TINY, '--models', join(dir, 'models')]);
    const rows = lines.filter((l) => /^\| f32 \| 48 /.test(l)).map(cells);
    const withLlama = llamaCppInstalled();
    expect(rows.map((r) => `${r[2]} ${r[3]} ${r[4]}`)).toEqual(['kvprism f32 full', 'kvprism f32 SnapKV 20%', ...(withLlama ? ['llama.cpp f32 full'] : [])]);
    for (const r of rows) {
      expect(Number(r[6])).toBeGreaterThan(0);
      if (loadAddon()) {
        const [gb, fraction] = [Number(r[11]), Number(r[12])];
        expect(gb).toBeGreaterThan(0);
        // At this size the step is all fixed cost, far below the byte limit — but measured.
        expect(fraction).toBeGreaterThanOrEqual(0);
        expect(fraction).toBeLessThan(1.5);
      }
    }
    if (withLlama) {
      expect(rows[2]![8]).toBe('1.00×');
      expect(Number(rows[0]![8]!.replace('×', ''))).toBeCloseTo(Number(rows[0]![6]) / Number(rows[2]![6]), 1);
    }
  });

  it('says how to install llama.cpp when it is missing and prints our rows only', async () => {
    vi.stubEnv('KVPRISM_LLAMA_CPP_DIR', join(dir, 'nowhere'));
    const lines = await runBench([...TINY, '--models', join(dir, 'models')]);
    expect(lines.some((l) => l.includes('llama.cpp: not installed; run `npm run bench:setup`'))).toBe(true);
    expect(lines.filter((l) => /^\| f32 \| 48 \| llama\.cpp/.test(l))).toHaveLength(0);
  });

  it('names the flag it cannot use', async () => {
    await expect(runBench(['--preset', 'tiny-qwen2'])).rejects.toThrow(/--preset: "tiny-qwen2" is not a llama preset; expected one of smollm2-135m, tiny-llama/);
    await expect(runBench(['--llama-cpp', 'maybe'])).rejects.toThrow(/--llama-cpp: expected on or off; got maybe/);
    await expect(runBench(['--llama-cpp-kv', 'q8_0'])).rejects.toThrow(/--llama-cpp-kv: expected f32 or f16; got q8_0/);
  });
});

describe('byte limit accounting', () => {
  it('counts every matrix once, the tied LM head as the embedding, untied ones without the embedding', () => {
    const tiny = join(dir, 'tiny');
    initModel({ preset: 'tiny-llama', out: tiny });
    const m = loadModel(tiny);
    // Untied: one decode step reads lm_head, not the embedding table (one row of it).
    expect(weightBytesPerToken(m.config, 4)).toBe((parameterCount(m) - m.config.vocabSize * m.config.hiddenSize) * 4);
    // Tied SmolLM2-135M: the 538 MB per token in f32 (134.5 M matrix weights + norms).
    const smol = parseModelConfig(PRESETS['smollm2-135m']);
    expect(weightBytesPerToken(smol, 4)).toBe((30 * 576 * (2 * 576 + 2 * 192 + 3 * 1536) + 49152 * 576 + 61 * 576) * 4);
    expect(weightBytesPerToken(smol, 4) / 1e6).toBeCloseTo(538.06, 2);
    expect(byteLimitFraction(25, 538e6, 30)).toBeCloseTo(0.448, 3);
  });
});
