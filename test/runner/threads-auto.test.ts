import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../src/attention/native/addon.js';
import { loadConfig } from '../../src/runner/config-load.js';
import { readResults } from '../../src/runner/results-store.js';
import { runExperiment } from '../../src/runner/run-experiment.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const modelDir = fileURLToPath(new URL('../../../shared/models/stories260K', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'kvprism-threads-'));
const yaml = (threads: string) => `name: threads
model: ${modelDir}
dataset: { kind: jsonl, path: ${join(root, 'datasets/samples/tiny-stories-qa.jsonl')} }
samples: 1
decodeTokens: 2
backend: cpu
threads: ${threads}
policies: [full]
metrics: [accuracy, latency]
`;
const devNull = new Writable({ write: (_c, _e, done) => done() }) as unknown as NodeJS.WriteStream;
const file = (name: string, text: string): string => {
  const f = join(work, name);
  writeFileSync(f, text);
  return f;
};

describe('config threads', () => {
  it("takes a count or 'auto', and names the field otherwise", () => {
    expect(loadConfig(file('auto.yaml', yaml('auto'))).config.threads).toBe('auto');
    expect(loadConfig(file('two.yaml', yaml('2'))).config.threads).toBe(2);
    expect(() => loadConfig(file('bad.yaml', yaml('fast')))).toThrow(/threads/);
    expect(() => loadConfig(file('neg.yaml', yaml('-1')))).toThrow(/threads/);
  });
});

describe.skipIf(!loadAddon())('threads: auto in a real run', () => {
  it('records the tok/s per thread count and the count it kept in run_meta.json', async () => {
    const addon = loadAddon()!;
    const before = addon.info().threads;
    try {
      const out = join(work, 'run');
      await runExperiment({ configFile: file('run.yaml', yaml('auto')), out, live: false, log: () => {}, progressStream: devNull });
      const meta = JSON.parse(readFileSync(join(out, 'run_meta.json'), 'utf8'));
      const choice = meta.threadChoice;
      expect(choice.speeds.length).toBeGreaterThan(0);
      expect(choice.speeds[0].threads).toBe(1);
      for (const s of choice.speeds) expect(s.tokPerSec).toBeGreaterThan(0);
      expect(choice.slowdown).toBe(0.05);
      expect(meta.threads).toBe(choice.chosen);
      expect(addon.info().threads).toBe(choice.chosen);
      // The rows carry the config's setting; run_meta.json says what it resolved to.
      expect(readResults(out).map((r) => r.threads)).toEqual(['auto']);
    } finally {
      addon.setThreads(before);
    }
  });
});
