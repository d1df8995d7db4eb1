/**
 * `cache.storage` as a sweep axis: a list of storages multiplies the trials, each trial's cache
 * names one storage (ids stay those of a single-storage config), rows record it as `storage`,
 * bad lists are config errors naming the field, and on the AV organism each storage prefills
 * its own cache: the shared-prefill run records the same rows as per-trial prefills, with each
 * storage's exact bytes.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { policies } from '../../src/policies/catalog.js';
import { loadConfig } from '../../src/runner/config-load.js';
import { experimentConfigSchema, type ExperimentConfigInput } from '../../src/runner/config-schema.js';
import type { ResultRow } from '../../src/runner/result-row.js';
import { runExperiment } from '../../src/runner/run-experiment.js';
import { storageLabel } from '../../src/runner/storage-axis.js';
import { expandTrials } from '../../src/runner/sweep.js';

const work = mkdtempSync(join(tmpdir(), 'kvprism-storage-axis-'));
const config = (cache: ExperimentConfigInput['cache'] = {}) =>
  experimentConfigSchema.parse({ model: 'm', dataset: { kind: 'jsonl', path: 'd.jsonl' }, policies: ['full', 'snapkv'], budgets: ['10%', '20%'], protocol: ['query-aware', 'query-agnostic'], cache });

describe('cache.storage as a sweep axis', () => {
  it('runs every trial once per listed storage, with the ids a single-storage config gives', () => {
    const list = expandTrials(config({ storage: ['f32', 'int8-fp8', { kind: 'int4', residual: 0 }] }), policies);
    const single = (storage: NonNullable<ExperimentConfigInput['cache']>['storage']) => expandTrials(config({ storage }), policies);
    expect(list).toHaveLength(3 * single('f32').length);
    expect(new Set(list.map((t) => t.id)).size).toBe(list.length);
    expect(list.map((t) => t.index)).toEqual(list.map((_, i) => i));
    for (const s of ['f32', 'int8-fp8', { kind: 'int4', residual: 0 }] as const) {
      const ids = single(s).map((t) => t.id);
      expect(list.filter((t) => JSON.stringify(t.cache.storage) === JSON.stringify(s)).map((t) => t.id)).toEqual(ids);
    }
    // Repeats are one storage; no storage leaves the trial's cache (and id) as before the axis.
    expect(expandTrials(config({ storage: ['int4', 'int4'] }), policies).map((t) => t.id)).toEqual(single('int4').map((t) => t.id));
    expect(expandTrials(config({ storage: ['int4', { kind: 'int4', group: 32, residual: 128 }] }), policies).map((t) => t.id)).toEqual(single('int4').map((t) => t.id));
    const plain = expandTrials(config(), policies);
    expect(plain.every((t) => !('storage' in t.cache))).toBe(true);
    expect(plain.map((t) => t.id)).not.toEqual(single('f32').map((t) => t.id));
  });

  it('labels a storage by its kind, with G and R where they differ from the defaults', () => {
    const label = (storage?: NonNullable<ExperimentConfigInput['cache']>['storage'], dtype: 'f32' | 'f16' = 'f32') =>
      storageLabel({ dtype, queryAware: true, ...(storage !== undefined && { storage: storage as never }) });
    expect(label()).toBe('f32');
    expect(label(undefined, 'f16')).toBe('f16');
    expect(label('int2')).toBe('int2');
    expect(label({ kind: 'int4', group: 32, residual: 128 })).toBe('int4');
    expect(label({ kind: 'int4', residual: 0 })).toBe('int4(R=0)');
    expect(label({ kind: 'int2', group: 16, residual: 64 })).toBe('int2(G=16,R=64)');
    expect(label({ kind: 'int8-fp8', group: 4 })).toBe('int8-fp8(G=4)');
  });

  it('refuses an empty list, a bad entry and a list beside a dtype, naming the field', () => {
    const file = (cache: string) => {
      const f = join(work, `bad-${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(f, `model: organism\ndataset: { kind: av-world, preset: tiny }\npolicies: [full]\ncache: ${cache}\n`);
      return f;
    };
    const message = (cache: string) => {
      try {
        loadConfig(file(cache));
      } catch (e) {
        return (e as Error).message;
      }
      throw new Error(`cache ${cache} was accepted`);
    };
    expect(message('{ storage: [] }')).toMatch(/cache\.storage/);
    expect(message('{ storage: [int4, { kind: f32, group: 4 }] }')).toMatch(/cache\.storage\[1\].*f32 storage takes no group or residual/);
    expect(message('{ storage: [int4, int9] }')).toMatch(/cache\.storage/);
    expect(message('{ dtype: f16, storage: [int4, int2] }')).toMatch(/give cache\.dtype or cache\.storage, not both/);
  });
});

describe('a storage sweep on the AV organism', () => {
  const devNull = new Writable({ write: (_c, _e, done) => done() }) as unknown as NodeJS.WriteStream;
  const quiet = { live: false, log: () => {}, progressStream: devNull };
  const deterministic = (r: ResultRow) => {
    const { wall_ms: _w, prefill_ms: _p, compression_ms: _c, decode_ms_per_token: _d, decode_ms_median: _m, finished_at: _f, peak_rss_bytes: _r, ...rest } = r;
    return rest;
  };

  it('prefills each storage\'s own cache: shared and per-trial prefills record the same rows, with each storage\'s bytes', async () => {
    const file = join(work, 'sweep.yaml');
    writeFileSync(
      file,
      `name: storages
model: organism
dataset: { kind: av-world, preset: tiny, split: test }
samples: 2
decodeTokens: 1
threads: 1
policies: [full, snapkv]
budgets: ['50%']
cache: { storage: [f32, int8-fp8, { kind: int4, residual: 0 }] }
metrics: [accuracy, fidelity, memory]
`,
    );
    const shared = await runExperiment({ configFile: file, out: join(work, 'shared'), ...quiet });
    const own = await runExperiment({ configFile: file, out: join(work, 'own'), sharedPrefill: false, ...quiet });
    expect(shared.failed).toEqual([]);
    expect(own.failed).toEqual([]);
    const byId = (rows: ResultRow[]) => [...rows].sort((a, b) => a.trial_id.localeCompare(b.trial_id)).map(deterministic);
    expect(byId(shared.rows)).toEqual(byId(own.rows));
    const row = (storage: string, policy: string) => shared.rows.find((r) => r.storage === storage && r.policy === policy)!;
    expect(shared.rows.map((r) => r.storage).sort()).toEqual(['f32', 'f32', 'int4(R=0)', 'int4(R=0)', 'int8-fp8', 'int8-fp8']);
    // Organism: 4 layers × 2 KV heads, head dim 32 → per slot 8 · 32 · 2 f32 values, or 2 · 32 codes + 12 scale bytes in int8-fp8.
    for (const policy of ['full', 'snapkv']) {
      expect(row('f32', policy).kv_bytes).toBe(row('f32', policy).slots! * 8 * 32);
      expect(row('int8-fp8', policy).kv_bytes).toBe(row('int8-fp8', policy).slots! * (2 * 32 + 12));
      // KIVI with R = 0 still holds up to G − 1 newest tokens in f32 until they fill a key group.
      expect(row('int4(R=0)', policy).kv_bytes!).toBeLessThan(row('f32', policy).kv_bytes! / 2);
    }
    // Each storage's full cache is its own trial (and its own fidelity reference).
    expect(row('int4(R=0)', 'full').kl).toBe(0);
  }, 240_000);
});
