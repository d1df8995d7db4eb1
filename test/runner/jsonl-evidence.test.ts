/**
 * Per-sample `evidence` in JSONL datasets: token ranges and media time spans, their checks,
 * recall against slot metadata, and `evidence_kept` in a real run on stories260K.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tsBackend } from '../../src/attention/ts-backend.js';
import { CacheSession } from '../../src/cache/cache-session.js';
import { ModalityCode } from '../../src/cache/modality.js';
import { allocTokenMeta } from '../../src/cache/token-meta.js';
import { writeSafetensors } from '../../src/model/safetensors-write.js';
import { evidenceKeptInSpans, sampleEvidenceKept } from '../../src/runner/evidence-recall.js';
import { loadJsonlDataset } from '../../src/runner/jsonl-dataset.js';
import { runExperiment } from '../../src/runner/run-experiment.js';
import { f32ToBf16 } from '../../src/util/half.js';

const HIDDEN = 64; // stories260K

/** A dataset of the given lines with one 4-token audio span file `emb/a.safetensors` (bf16, times 0..3 s). */
function dataset(lines: object[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'kvprism-ev-'));
  mkdirSync(join(dir, 'emb'));
  const data = Uint16Array.from({ length: 4 * HIDDEN }, (_, i) => f32ToBf16(Math.sin(i) * 0.1));
  writeSafetensors(join(dir, 'emb', 'a.safetensors'), new Map([['audio', { dtype: 'BF16' as const, shape: [4, HIDDEN], data }]]));
  const f = join(dir, 'qa.jsonl');
  writeFileSync(f, lines.map((l) => JSON.stringify(l)).join('\n'));
  return f;
}

const audio = { modality: 'audio', embeddings: 'emb/a.safetensors', n: 4, time: [0, 1, 2, 3] };
const base = { choices: [' ball', ' cat'], answer: 0 };

describe('JSONL evidence', () => {
  it('token ranges become the sample’s evidence positions; time spans stay spans', () => {
    const f = dataset([
      { id: 'r', prompt: 'Once upon a time', evidence: [[2, 4], [3, 6], [9, 10]], ...base },
      { id: 't', prompt: [{ text: 'Hear' }, audio, { text: ' it?' }], evidence: { seconds: [[1, 2.5]] }, ...base },
    ]);
    const [r, t] = loadJsonlDataset(f);
    expect(r!.evidence).toEqual([2, 3, 4, 5, 9]);
    expect(t!.evidenceSeconds).toEqual([[1, 2.5]]);
    expect(t!.evidence).toBeUndefined();
  });

  it('bad evidence is refused naming file:line and the field', () => {
    const bad = (evidence: unknown, prompt: unknown = [{ text: 'x' }, audio]) => () => loadJsonlDataset(dataset([{ id: 'a', prompt, evidence, ...base }]));
    expect(bad([[4, 4]])).toThrow(/qa\.jsonl:1: evidence\[0\]: \[4, 4\] is empty; expected \[start, end\) with end > start/);
    expect(bad([[0, 2 ** 21]])).toThrow(/qa\.jsonl:1: evidence: names more than 1048576 tokens/);
    expect(bad({ seconds: [[3, 1]] })).toThrow(/qa\.jsonl:1: evidence\.seconds\[0\]: \[3, 1\] ends before it starts/);
    expect(bad({ seconds: [[5, 6]] })).toThrow(/qa\.jsonl:1: evidence\.seconds\[0\]: no media token has a time in \[5, 6\] s \(the prompt's media times run 0–3 s\)/);
    expect(bad({ seconds: [[0, 1]] }, 'text only')).toThrow(/qa\.jsonl:1: evidence\.seconds: the prompt has no media piece with "time"/);
    expect(bad({ secs: [[0, 1]] })).toThrow(/qa\.jsonl:1: evidence/);
    expect(bad([[1.5, 3]])).toThrow(/qa\.jsonl:1: evidence/);
  });

  it('time-span recall counts the media slots whose time is inside, per layer and KV head', () => {
    const [L, H, D, n] = [1, 2, 4, 8];
    const s = new CacheSession({ numLayers: L, qHeads: H, kvHeads: H, headDim: D, backend: tsBackend });
    const meta = allocTokenMeta(n);
    for (let i = 0; i < n; i++) {
      meta.position[i] = i;
      // tokens 2..5 are audio at 0, 1, 2, 3 s; token 6 is text that carries a time (must not count)
      if (i >= 2 && i <= 5) {
        meta.modality[i] = ModalityCode.audio;
        meta.time[i] = i - 2;
      }
    }
    meta.time[6] = 1;
    s.append(0, new Float32Array(n * H * D), new Float32Array(n * H * D), meta);
    expect(evidenceKeptInSpans(s, [[1, 2]], 2)).toBe(1);
    // head 0 drops the audio token at 2 s; head 1 keeps everything
    s.layer(0).apply({ heads: [{ keep: Int32Array.of(0, 1, 2, 3, 5, 6, 7) }, { keep: Int32Array.from({ length: n }, (_, i) => i) }] });
    expect(evidenceKeptInSpans(s, [[1, 2]], 2)).toBeCloseTo((1 / 2 + 1) / 2, 12);
    // sampleEvidenceKept counts the prompt's tokens in the spans from the sample's own segments
    const sample = loadJsonlDataset(dataset([{ id: 't', prompt: [{ text: 'Hear' }, audio], evidence: { seconds: [[1, 2]] }, ...base }]))[0]!;
    expect(sampleEvidenceKept(s, sample)).toBeCloseTo(3 / 4, 12);
  });

  it('a run on a JSONL dataset reports evidence_kept per trial and per sample', async () => {
    const f = dataset([
      { id: 'r', prompt: 'Once upon a time, there was a little girl named Lily. She loved to play outside in the sun. Lily saw a red', evidence: [[3, 9]], ...base },
      { id: 't', prompt: [{ text: 'Once upon a time, Lily heard' }, audio, { text: ' in the park. She saw a red' }], evidence: { seconds: [[0, 3]] }, ...base },
    ]);
    const work = mkdtempSync(join(tmpdir(), 'kvprism-ev-run-'));
    const config = join(work, 'ev.yaml');
    const model = fileURLToPath(new URL('../../../shared/models/stories260K', import.meta.url));
    writeFileSync(config, `name: ev\nmodel: ${model}\ndataset: { kind: jsonl, path: ${f} }\nsamples: 2\ndecodeTokens: 0\nbackend: ts\npolicies: [full, streaming-llm]\nbudgets: ['20%']\nmetrics: [accuracy]\n`);
    const devNull = new Writable({ write: (_c, _e, done) => done() }) as unknown as NodeJS.WriteStream;
    const out = join(work, 'out');
    const run = await runExperiment({ configFile: config, out, live: false, log: () => {}, progressStream: devNull });
    expect(run.failed).toEqual([]);
    const full = run.rows.find((r) => r.policy === 'full')!;
    const streaming = run.rows.find((r) => r.policy === 'streaming-llm')!;
    expect(full.evidence_kept).toBe(1);
    // StreamingLLM at 20 % keeps sinks and the recent window: the mid-prompt evidence is evicted.
    expect(streaming.evidence_kept).toBeLessThan(0.5);
    const preds = readFileSync(join(out, 'predictions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { trial_id: string; sample_id: string; evidence_kept: number });
    const mine = preds.filter((p) => p.trial_id === streaming.trial_id);
    expect(mine.map((p) => p.sample_id)).toEqual(['r', 't']);
    expect((mine[0]!.evidence_kept + mine[1]!.evidence_kept) / 2).toBeCloseTo(streaming.evidence_kept!, 12);

    // Token evidence past the prompt's end fails the trial with a message naming the sample.
    const past = dataset([{ id: 'long', prompt: 'Once upon a time', evidence: [[2, 500]], ...base }]);
    writeFileSync(config, readFileSync(config, 'utf8').replace(f, past).replace('samples: 2', 'samples: 1').replace('[full, streaming-llm]', '[full]'));
    const bad = await runExperiment({ configFile: config, out: join(work, 'past'), live: false, log: () => {}, progressStream: devNull });
    expect(bad.failed.map((x) => x.error)).toEqual([expect.stringMatching(/sample "long": evidence names token 499, but its prompt has \d+ tokens/)]);
  });
});
