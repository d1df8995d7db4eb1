/**
 * cache.storage reaches the runner's trials: the ModelExecutor's cache uses the configured
 * storage, and the bytes it reports (the result rows' kv_bytes) are the codes' exact bytes —
 * smaller than f32 for the same tokens — on stories260K with SnapKV and the full cache.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/model/model.js';
import { policies } from '../../src/policies/catalog.js';
import { experimentConfigSchema } from '../../src/runner/config-schema.js';
import { loadJsonlDataset } from '../../src/runner/jsonl-dataset.js';
import { ModelExecutor } from '../../src/runner/model-executor.js';
import { expandTrials } from '../../src/runner/sweep.js';

const model = loadModel(fileURLToPath(new URL('../../../shared/models/stories260K', import.meta.url)));
const sample = loadJsonlDataset(fileURLToPath(new URL('../../datasets/samples/tiny-stories-qa.jsonl', import.meta.url)))[0]!;
const trials = (cache: Record<string, unknown>) =>
  expandTrials(experimentConfigSchema.parse({ model: 'm', dataset: { kind: 'jsonl', path: 'd' }, policies: ['full', 'snapkv'], budgets: ['50%'], decodeTokens: 2, cache }), policies);

describe('runner trials with cache.storage', () => {
  it('reports the exact bytes of the configured storage for every trial', async () => {
    const exec = new ModelExecutor(model);
    const bytes = async (cache: Record<string, unknown>) => {
      const out: Record<string, { kvBytes: number; slots: number }> = {};
      for (const t of trials(cache)) {
        const o = await exec.runSample(sample, t);
        out[t.policy] = { kvBytes: o.bytes!.kvBytes, slots: o.bytes!.slots };
      }
      return out;
    };
    const f32 = await bytes({});
    const int8 = await bytes({ storage: 'int8-fp8' });
    const d = model.config.headDim;
    for (const p of ['full', 'snapkv']) {
      // int8-fp8 with G ≥ headDim: 2d code bytes + 12 scale bytes per slot (K+V), vs 8d in f32.
      expect(int8[p]!.kvBytes).toBe(int8[p]!.slots * (2 * d + 12));
      expect(f32[p]!.kvBytes).toBe(f32[p]!.slots * 8 * d);
    }
    expect(int8.snapkv!.slots).toBeLessThan(int8.full!.slots);
  });
});
