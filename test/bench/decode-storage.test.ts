/**
 * The decode bench's storage and case dimensions: --storages / --cases / --prefill and their
 * errors, a case's exact K/V bytes per storage on the real runtime (tiny-llama), the shared
 * prefill giving each policy the same cache as its own prefill, and the table's storage column.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { byteLimitFraction, weightBytesPerToken } from '../../bench/_byte-limit.js';
import { runPrefillCase, type PrefillCase } from '../../bench/_decode-case.js';
import { parseDecodeFlags } from '../../bench/_decode-flags.js';
import { printDecodeTable, type DecodeRow } from '../../bench/_decode-table.js';
import { main } from '../../bench/decode.js';
import { storageSpec, type StorageCounts, type StorageKind } from '../../src/cache/storage-spec.js';
import { loadModelConfig, parseModelConfig } from '../../src/model/config.js';
import { fmtBytes } from '../../src/model/describe.js';
import { initModel } from '../../src/model/init-model.js';
import { PRESETS } from '../../src/model/presets.js';
import { fmt } from '../../bench/_timing.js';

let dir: string;
beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), 'kvprism-decode-storage-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

function captureLog(): string[] {
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  return lines;
}
const cells = (line: string): string[] => line.split('|').map((c) => c.trim()).filter((c) => c !== '');

describe('decode bench flags', () => {
  it('defaults to f32 storage, every case and a shared prefill (the bench as it was, plus sharing)', () => {
    const { flags } = parseDecodeFlags([]);
    expect(flags.storages).toEqual(['f32']);
    expect(flags.policies).toEqual(['full', 'snapkv']);
    expect(flags.llamaCpp).toBe(true);
    expect(flags.prefill).toBe('shared');
    expect(flags.contexts).toEqual([1024, 4096, 16384]);
  });

  it('takes storage kinds, a subset of cases (in the bench\'s order) and the prefill mode', () => {
    const { flags } = parseDecodeFlags(['--storages', 'f32,int8-fp8,int4,int2,bf16', '--cases', 'llama.cpp,snapkv', '--prefill', 'own']);
    expect(flags.storages).toEqual(['f32', 'int8-fp8', 'int4', 'int2', 'bf16']);
    expect(flags.policies).toEqual(['snapkv']);
    expect(flags.llamaCpp).toBe(true);
    expect(flags.prefill).toBe('own');
    expect(parseDecodeFlags(['--cases', 'full', '--llama-cpp', 'on']).flags.llamaCpp).toBe(false);
    expect(parseDecodeFlags(['--cases', 'llama.cpp', '--llama-cpp', 'off']).flags.llamaCpp).toBe(false);
    expect(parseDecodeFlags(['--storages', 'int4,int4']).flags.storages).toEqual(['int4']);
  });

  it('names the flag, the value and the expected form for bad input', () => {
    const bad = (argv: string[]): (() => unknown) => () => parseDecodeFlags(argv);
    expect(bad(['--storages', 'f32,int3'])).toThrow('--storages: "int3" is not one of f32, f16, bf16, int8-fp8, int4, int2');
    expect(bad(['--storages', 'f32,'])).toThrow('--storages: expected a comma-separated list with no empty items; got "f32,"');
    expect(bad(['--cases', 'h2o'])).toThrow('--cases: "h2o" is not one of full, snapkv, llama.cpp');
    expect(bad(['--prefill', 'twice'])).toThrow('--prefill: expected shared or own; got twice');
    expect(bad(['--contexts', '1024,0'])).toThrow('--contexts: expected an integer ≥ 1; got 0');
    expect(bad(['--decode', '2.5'])).toThrow('--decode: expected an integer ≥ 1; got 2.5');
    expect(bad(['--budget', '1.5'])).toThrow('--budget: expected a fraction in (0, 1]; got 1.5');
    expect(bad(['--backend', 'gpu'])).toThrow('--backend: expected one of auto, ts, cpu, cuda; got gpu');
    expect(bad(['--threads=-1'])).toThrow('--threads: expected an integer ≥ 0 (0 = every core) or auto; got -1');
    expect(bad(['--dtypes', 'f16'])).toThrow('--dtypes: "f16" is not one of f32, bf16');
  });
});

describe('a decode case on the real runtime (tiny-llama, 300-token prompt)', () => {
  const context = 300;
  let modelDir: string;
  beforeAll(() => {
    modelDir = join(dir, 'tiny');
    initModel({ preset: 'tiny-llama', out: modelDir });
  });
  const base = (storage: StorageKind): PrefillCase => ({ modelDir, dtype: 'f32', context, decode: 8, storage, policies: ['full', 'snapkv'], budget: 0.2, backend: 'auto', threads: 1, prefill: 'shared' });

  it('reports the storage\'s exact bytes, and a shared prefill gives each policy the cache and greedy tokens its own prefill gives', () => {
    const c = loadModelConfig(modelDir);
    const heads = c.numLayers * c.kvHeads;
    const exact = (kind: StorageKind, counts: StorageCounts): number => heads * storageSpec(kind, c.headDim).bytes(counts);
    // Full cache: all 300 tokens. KIVI int4 (G = 32, R = 128) codes whole key groups and keeps
    // R..R+G−1 recent tokens f32: 5 groups (160 tokens) coded, 140 dense.
    const fullBytes: Record<string, number> = {
      f32: exact('f32', { coded: 0, keyGroups: 0, dense: context }),
      'int8-fp8': exact('int8-fp8', { coded: context, keyGroups: 0, dense: 0 }),
      int4: exact('int4', { coded: 160, keyGroups: 5, dense: 140 }),
    };
    // SnapKV at 20 %: 60 slots per head.
    const snapBytes: Record<string, number> = {
      f32: exact('f32', { coded: 0, keyGroups: 0, dense: 60 }),
      'int8-fp8': exact('int8-fp8', { coded: 60, keyGroups: 0, dense: 0 }),
    };
    for (const storage of ['f32', 'int8-fp8', 'int4'] as const) {
      const shared = runPrefillCase(base(storage));
      expect(shared.map((r) => r.policy)).toEqual(['full', 'snapkv']);
      const own = (['full', 'snapkv'] as const).map((p) => runPrefillCase({ ...base(storage), policies: [p], prefill: 'own' })[0]!);
      expect(shared.map((r) => r.kvBytes), storage).toEqual(own.map((r) => r.kvBytes));
      expect(shared.map((r) => r.tokens), storage).toEqual(own.map((r) => r.tokens));
      expect(shared[0]!.tokens).toHaveLength(8);
      expect(shared[0]!.kvBytes, storage).toBe(fullBytes[storage]);
      if (snapBytes[storage] !== undefined) expect(shared[1]!.kvBytes, storage).toBe(snapBytes[storage]);
      expect(shared[1]!.kvBytes).toBeLessThan(shared[0]!.kvBytes);
      for (const r of [...shared, ...own]) {
        expect(r.decodeTokS).toBeGreaterThan(0);
        expect(r.prefillTokS).toBeGreaterThan(0);
      }
    }
  }, 60_000);

  it('refuses an own prefill asked to run two policies', () => {
    expect(() => runPrefillCase({ ...base('f32'), prefill: 'own' })).toThrow('decode case: prefill "own" runs one policy per case; got full, snapkv');
  });
});

describe('decode table', () => {
  it('prints each row\'s storage, its own exact bytes and byte-limit fraction, and compares with the full cache of the same storage', () => {
    const config = parseModelConfig(PRESETS['smollm2-135m']);
    const row = (o: Partial<DecodeRow>): DecodeRow => ({
      engine: 'kvprism', config, dtype: 'f32', context: 16384, storage: 'f32', policy: 'full', budget: 0.2, backendName: 'cpu',
      prefillTokS: 50, decodeTokS: 10, kvBytes: 755e6, peakRssBytes: 2e9, gbPerS: 12, ...o,
    });
    const rows = [
      row({}),
      row({ policy: 'snapkv', decodeTokS: 20, kvBytes: 151e6 }),
      row({ storage: 'int4', policy: 'snapkv', decodeTokS: 25, kvBytes: 40e6 }),
      row({ engine: 'llama.cpp', decodeTokS: 8 }),
    ];
    const lines = captureLog();
    printDecodeTable(rows);
    const table = lines.join('\n').split('\n').filter((l) => l.startsWith('| f32 | 16384')).map(cells);
    expect(table.map((r) => `${r[2]} ${r[3]} ${r[4]}`)).toEqual(['kvprism f32 full', 'kvprism f32 SnapKV 20%', 'kvprism int4 SnapKV 20%', 'llama.cpp f32 full']);
    const int4 = table[2]!;
    expect(int4[7]).toBe('–'); // no int4 full row to divide by
    expect(table[1]![7]).toBe(`${fmt(20 / 10, 2)}×`);
    expect(int4[8]).toBe(`${fmt(25 / 8, 2)}×`);
    const bytes = weightBytesPerToken(config, 4) + 40e6;
    expect(int4[9]).toBe(fmtBytes(40e6));
    expect(int4[10]).toBe(fmtBytes(bytes));
    expect(int4[12]).toBe(fmt(byteLimitFraction(25, bytes, 12), 2));
  });
});

describe('decode bench with --storages and --cases (smoke size)', () => {
  it('runs only the asked cases, one row per storage', async () => {
    const lines = captureLog();
    const argv = ['--preset', 'tiny-llama', '--contexts', '300', '--decode', '3', '--dtypes', 'f32', '--threads', '1', '--storages', 'f32,int4', '--cases', 'snapkv', '--llama-cpp', 'off'];
    await main([...argv, '--models', join(dir, 'models')]);
    expect(lines[0]).toContain('cases snapkv, SnapKV 20 %, K/V storages f32, int4, prefill shared');
    const rows = lines.join('\n').split('\n').filter((l) => l.startsWith('| f32 | 300 ')).map(cells);
    expect(rows.map((r) => `${r[2]} ${r[3]} ${r[4]} ${r[7]}`)).toEqual(['kvprism f32 SnapKV 20% –', 'kvprism int4 SnapKV 20% –']);
  }, 60_000);
});
