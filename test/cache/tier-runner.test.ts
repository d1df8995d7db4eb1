/**
 * cache.tier reaches the runner's trials: the config schema takes it (and refuses it with a
 * quantized storage or without exactly one of coldFraction / window), the ModelExecutor's
 * sessions put the configured share of the cache on file, and the bytes a result row reports
 * split into DRAM and file (stories260K, full cache and SnapKV). A directory that cannot hold
 * the file fails the trial with an error naming it before any outcome exists.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAddon } from '../../src/attention/native/addon.js';
import { loadModel } from '../../src/model/model.js';
import { policies } from '../../src/policies/catalog.js';
import { experimentConfigSchema } from '../../src/runner/config-schema.js';
import { loadJsonlDataset } from '../../src/runner/jsonl-dataset.js';
import { ModelExecutor } from '../../src/runner/model-executor.js';
import { expandTrials } from '../../src/runner/sweep.js';

const model = loadModel(fileURLToPath(new URL('../../../shared/models/stories260K', import.meta.url)));
const sample = loadJsonlDataset(fileURLToPath(new URL('../../datasets/samples/tiny-stories-qa.jsonl', import.meta.url)))[0]!;
const config = (cache: Record<string, unknown>) => ({ model: 'm', dataset: { kind: 'jsonl', path: 'd' }, policies: ['full', 'snapkv'], budgets: ['50%'], decodeTokens: 2, cache });
const trials = (cache: Record<string, unknown>) => expandTrials(experimentConfigSchema.parse(config(cache)), policies);
const dir = mkdtempSync(join(tmpdir(), 'kvprism-tier-runner-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('runner trials with cache.tier', () => {
  it('the schema takes one of coldFraction / window with dense storage only', () => {
    expect(experimentConfigSchema.safeParse(config({ tier: { coldFraction: 0.5 } })).success).toBe(true);
    const both = experimentConfigSchema.safeParse(config({ tier: { coldFraction: 0.5, window: 4 } }));
    expect(both.success || both.error.issues[0]!.message).toMatch(/exactly one of coldFraction or window/);
    const coded = experimentConfigSchema.safeParse(config({ storage: 'int4', tier: { window: 4 } }));
    expect(coded.success || `${coded.error.issues[0]!.path.join('.')}: ${coded.error.issues[0]!.message}`).toMatch(/cache\.tier: cache\.tier holds dense K\/V/);
    const far = experimentConfigSchema.safeParse(config({ tier: { coldFraction: 2 } }));
    expect(far.success).toBe(false);
    expect(experimentConfigSchema.safeParse(config({ tier: { coldFraction: 0.5, by: 'score', sinks: 2, recent: 16 } })).success).toBe(true);
    const badBy = experimentConfigSchema.safeParse(config({ tier: { coldFraction: 0.5, by: 'oldest' } }));
    expect(badBy.success).toBe(false);
    expect(badBy.success ? '' : badBy.error.issues[0]!.path.join('.')).toBe('cache.tier.by');
    const stray = experimentConfigSchema.safeParse(config({ tier: { coldFraction: 0.5, recent: 8 } }));
    expect(stray.success || stray.error.issues[0]!.message).toMatch(/sinks, recent and scoreEvery apply with by: score only/);
  });

  it.skipIf(!loadAddon())('puts the configured share on file and splits the row bytes', async () => {
    const exec = new ModelExecutor(model);
    for (const t of trials({ tier: { coldFraction: 0.5, dir } })) {
      const o = await exec.runSample(sample, t);
      const b = o.bytes!;
      expect(b.kvDramBytes + b.kvFileBytes).toBe(b.kvBytes);
      // Each head keeps ⌊len/2⌋ of its slots on file, so at most half the bytes (one row per head less when odd).
      expect(b.kvFileBytes).toBeGreaterThan(0);
      expect(b.kvFileBytes).toBeLessThanOrEqual(b.kvBytes / 2);
      expect(b.kvFileBytes).toBeGreaterThan(b.kvBytes / 2 - model.config.numLayers * model.config.kvHeads * model.config.headDim * 8);
    }
    // By score: the same share on file (its target does not depend on which slots), bytes split alike.
    for (const t of trials({ tier: { coldFraction: 0.5, by: 'score', sinks: 1, recent: 2, dir } })) {
      const b = (await exec.runSample(sample, t)).bytes!;
      expect(b.kvDramBytes + b.kvFileBytes).toBe(b.kvBytes);
      expect(b.kvFileBytes).toBeGreaterThan(0);
      expect(b.kvFileBytes).toBeLessThanOrEqual(b.kvBytes / 2);
    }
    const missing = join(dir, 'missing');
    await expect(exec.runSample(sample, trials({ tier: { window: 2, dir: missing } })[0]!)).rejects.toThrow(
      new RegExp(`options\\.tier\\.dir = ${missing}: tier file: cannot create a file in ${missing}: No such file or directory`),
    );
  });
});
