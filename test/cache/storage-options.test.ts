/**
 * Choosing a storage type: the session option and the runner's cache.storage key, with clear
 * errors for out-of-range G / R, options a kind does not take, and dtype + storage together.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tsBackend } from '../../src/attention/ts-backend.js';
import { CacheSession } from '../../src/cache/cache-session.js';
import { LayerCache } from '../../src/cache/layer-cache.js';
import { storageSpec } from '../../src/cache/storage-spec.js';
import { loadConfig } from '../../src/runner/config-load.js';

const SHAPE = { numLayers: 2, qHeads: 2, kvHeads: 1, headDim: 8, backend: tsBackend };

describe('storageSpec validation', () => {
  it.each([
    [{ kind: 'int4', group: 0 }, /storage\.group \(G\) must be an integer in \[1, 1024\]; got 0/],
    [{ kind: 'int2', group: 2.5 }, /group \(G\) must be an integer in \[1, 1024\]; got 2\.5/],
    [{ kind: 'int8-fp8', group: 4096 }, /group \(G\) must be an integer in \[1, 1024\]; got 4096/],
    [{ kind: 'int4', residual: -1 }, /storage\.residual \(R\) must be an integer in \[0, 65536\]; got -1/],
    [{ kind: 'int8-fp8', residual: 4 }, /int8-fp8 storage has no residual window/],
    [{ kind: 'f16', group: 4 }, /f16 storage takes no group or residual/],
    [{ kind: 'int3' }, /storage\.kind must be one of f32, f16, bf16, int8-fp8, int4, int2; got int3/],
    ['q8', /storage\.kind must be one of/],
  ])('%j → clear error', (input, message) => {
    expect(() => storageSpec(input as never, 8)).toThrow(message);
  });
  it('applies KIVI defaults (G = 32, R = 128) and freezes the spec', () => {
    const s = storageSpec('int4', 64);
    expect([s.kind, s.group, s.residual, s.bits, s.quantized]).toEqual(['int4', 32, 128, 4, true]);
    expect(Object.isFrozen(s)).toBe(true);
  });
});

describe('session and cache options', () => {
  it('the session builds every layer with the storage it was given', () => {
    const s = new CacheSession({ ...SHAPE, storage: { kind: 'int2', group: 4, residual: 0 } });
    expect(s.layer(1).storage.kind).toBe('int2');
    expect(s.layer(0).storage.group).toBe(4);
    expect(s.clone().layer(0).storage.kind).toBe('int2');
  });
  it('dtype and storage together are an error naming both', () => {
    expect(() => new CacheSession({ ...SHAPE, dtype: 'f16', storage: 'int4' })).toThrow(/CacheSession options: give dtype or storage, not both/);
  });
  it('bad G in session options names the session field', () => {
    expect(() => new CacheSession({ ...SHAPE, storage: { kind: 'int4', group: -3 } })).toThrow(/CacheSession options\.storage\.group \(G\) must be/);
  });
  it('LayerCache takes storage directly', () => {
    expect(new LayerCache({ layer: 0, kvHeads: 1, headDim: 4, storage: 'int8-fp8' }).storage.kind).toBe('int8-fp8');
    expect(() => new LayerCache({ layer: 0, kvHeads: 1, headDim: 4, dtype: 'bf16', storage: 'int4' })).toThrow(/LayerCache options: give dtype or storage, not both/);
    expect(() => new LayerCache({ layer: 0, kvHeads: 1, headDim: 4, storage: { kind: 'int2', residual: 70000 } })).toThrow(/LayerCache options\.storage\.residual \(R\) must be an integer in \[0, 65536\]; got 70000/);
  });
});

describe('runner config cache.storage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kvprism-storage-'));
  let n = 0;
  const load = (cache: string) => {
    const f = join(dir, `c${n++}.yaml`);
    writeFileSync(f, `model: ../m\ndataset: { kind: jsonl, path: qa.jsonl }\npolicies: [full]\ncache: ${cache}\n`);
    return loadConfig(f).config;
  };
  it('accepts a kind or { kind, group, residual }', () => {
    expect(load('{ storage: int8-fp8 }').cache.storage).toBe('int8-fp8');
    expect(load('{ storage: { kind: int4, group: 64, residual: 32 } }').cache.storage).toEqual({ kind: 'int4', group: 64, residual: 32 });
    expect(load('{}').cache.storage).toBeUndefined();
  });
  it.each([
    ['{ storage: { kind: int4, group: 0 } }', /cache\.storage/],
    ['{ storage: { kind: int2, residual: 100000 } }', /cache\.storage/],
    ['{ storage: { kind: int8-fp8, residual: 4 } }', /int8-fp8 storage has no residual window/],
    ['{ storage: int3 }', /cache\.storage/],
    ['{ dtype: f16, storage: int4 }', /give cache\.dtype or cache\.storage, not both/],
  ])('%s → a clear config error', (cache, message) => {
    expect(() => load(cache)).toThrow(message);
  });
});
