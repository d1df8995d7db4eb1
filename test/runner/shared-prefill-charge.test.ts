/**
 * What a trial is charged on the shared path: its own work plus an equal share of the prefill
 * it forked and of the media encoding before that prefill (a fake executor reports both).
 */
import { describe, expect, it } from 'vitest';
import type { SampleOutcome, SharedPrefill, TrialExecutor } from '../../src/runner/executor.js';
import { experimentConfigSchema } from '../../src/runner/config-schema.js';
import { DatasetSource } from '../../src/runner/dataset-source.js';
import { PeakRss } from '../../src/runner/metrics.js';
import { ReferenceStore } from '../../src/runner/reference-store.js';
import type { ResultRow } from '../../src/runner/result-row.js';
import { runSampleMajor } from '../../src/runner/shared-prefill-runner.js';
import { expandTrials } from '../../src/runner/sweep.js';
import { policies } from '../../src/policies/catalog.js';

import type { QASample } from '../../src/model/prompt.js';

const outcome = (s: QASample): SampleOutcome => ({ predicted: 0, answerDistribution: s.choices.map((_, i) => (i === 0 ? 1 : 0)), promptTokens: 10, bytes: null, prefillMs: 0, compressionMs: 0, decodeMs: 0, decodeTokens: 0 });

describe('shared prefill charges', () => {
  it('splits the prefill and the media encoding evenly over the trials that forked them', async () => {
    const executor: TrialExecutor = {
      backendName: 'fake',
      runSample: async (s) => outcome(s),
      forkNeeds: () => ({}),
      prefillShared: (s): SharedPrefill => ({ sampleId: s.id, prefillTokens: 10, prefillMs: 3000, encodeMs: 9000 }),
      runFork: async (_p, s) => outcome(s),
    };
    const config = experimentConfigSchema.parse({ model: 'organism', dataset: { kind: 'av-world', preset: 'tiny' }, samples: 2, policies: ['full', 'h2o', 'snapkv'], metrics: ['accuracy'] });
    const trials = expandTrials(config, policies);
    const rows: ResultRow[] = [];
    await runSampleMajor(trials, { executor, dataset: new DatasetSource(config.dataset, '.'), references: new ReferenceStore(null), peak: new PeakRss(), shard: '0/1' }, { onRow: (_t, r) => rows.push(r), onError: (_t, e) => { throw e; } });
    expect(rows).toHaveLength(3);
    // Two samples, each (3 s prefill + 9 s encoding) / 3 trials = 4 s per trial per sample.
    for (const r of rows) {
      expect(r.wall_ms).toBeGreaterThanOrEqual(8000);
      expect(r.wall_ms).toBeLessThan(8000 + 5000);
    }
  });
});
