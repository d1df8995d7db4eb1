/**
 * ThinK through the experiment runner on the AV organism (4 layers, 2 KV heads, head_dim 32):
 * every result row's kv_bytes drops by exactly the pruned key channels, ratio 0 reproduces
 * SnapKV's row, and a trial forked from the shared prefill records what its own prefill does.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ResultRow } from '../../src/runner/result-row.js';
import { runExperiment } from '../../src/runner/run-experiment.js';

const LAYERS = 4;
const KV_HEADS = 2;
const D = 32;
const RECENT = 8;

describe('ThinK in the runner (AV organism)', () => {
  it('kv_bytes = SnapKV’s − layers·heads·(slots − recent)·(d − dʹ)·4; shared and own prefill agree', async () => {
    const work = mkdtempSync(join(tmpdir(), 'kvprism-think-'));
    const config = join(work, 'think.yaml');
    writeFileSync(
      config,
      `name: think\nmodel: organism\ndataset: { kind: av-world, preset: tiny, split: test }\nsamples: 2\ndecodeTokens: 1\nthreads: 1\nprotocol: query-aware\n` +
        `policies: [snapkv, { name: think, options: { policy: snapkv, ratio: 0.5, recent: ${RECENT} } }, { name: think, label: think-0, options: { policy: snapkv, ratio: 0 } }]\n` +
        `budgets: ['20%']\nmetrics: [accuracy, fidelity, memory]\n`,
    );
    const devNull = new Writable({ write: (_c, _e, done) => done() }) as unknown as NodeJS.WriteStream;
    const quiet = { live: false, log: () => {}, progressStream: devNull };
    const shared = await runExperiment({ configFile: config, out: join(work, 'shared'), ...quiet });
    const own = await runExperiment({ configFile: config, out: join(work, 'own'), sharedPrefill: false, ...quiet });
    expect(shared.failed).toEqual([]);
    expect(own.failed).toEqual([]);
    const strip = (rows: ResultRow[]) =>
      [...rows].sort((a, b) => a.trial_id.localeCompare(b.trial_id)).map(({ wall_ms: _w, prefill_ms: _p, compression_ms: _c, decode_ms_per_token: _d, decode_ms_median: _m, finished_at: _f, peak_rss_bytes: _r, ...rest }) => rest);
    expect(strip(shared.rows)).toEqual(strip(own.rows));
    const row = (label: string) => shared.rows.find((r) => r.label === label)!;
    const snap = row('snapkv');
    const think = row('think');
    // SnapKV's uniform budget: every head of every layer holds the same slots (both samples).
    const perHead = snap.slots! / (LAYERS * KV_HEADS);
    expect(Number.isInteger(perHead)).toBe(true);
    expect(think.slots).toBe(snap.slots);
    expect(snap.kv_bytes! - think.kv_bytes!).toBe(LAYERS * KV_HEADS * (perHead - RECENT) * (D - D / 2) * 4);
    expect(think.kl).not.toBe(snap.kl);
    const zero = row('think-0');
    expect([zero.kv_bytes, zero.kl, zero.accuracy]).toEqual([snap.kv_bytes, snap.kl, snap.accuracy]);
  }, 240_000);
});
