import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { avsd } from '../../../src/datasets/importers/avsd.js';
import { runImport } from '../../../src/datasets/importers/run-import.js';
import { loadJsonlDataset } from '../../../src/runner/jsonl-dataset.js';
import { runExperiment } from '../../../src/runner/run-experiment.js';
import { fixture, readJsonl } from './fixture.js';

// The layout of DSTC7 AVSD (valid_set4DSTC7-AVSD.json): dialogues about Charades videos, the
// official test files hiding the last answer as "__UNDISCLOSED__".
const doc = {
  dialogs: [
    {
      image_id: 'QRTTY', summary: 'A man walks into the kitchen and drinks water.', caption: 'A person walks in holding a glass and drinks from it.',
      dialog: [
        { question: 'is there only one person in the video ?', answer: 'yes , there is only one man' },
        { question: 'what is he holding ?', answer: 'he is holding a glass of water' },
        { question: 'does he say anything ?', answer: 'no , there is no talking' },
      ],
    },
    {
      image_id: '0A8ZT', summary: 'A woman reads a book on the sofa.', caption: 'A woman sits on a sofa reading.',
      dialog: [
        { question: 'where is the woman sitting ?', answer: 'on a brown sofa' },
        { question: 'what is she doing ?', answer: '__UNDISCLOSED__' },
      ],
    },
  ],
};
const videos = ['QRTTY.mp4', '0A8ZT.mp4'];
const modelDir = fileURLToPath(new URL('../../../../shared/models/stories260K', import.meta.url));
const devNull = new Writable({ write: (_c, _e, done) => done() }) as unknown as NodeJS.WriteStream;

describe('AVSD importer', () => {
  it('round trip: caption + history + last question as text, last answer as reference; undisclosed answers counted', () => {
    const f = fixture(doc, videos);
    const s = runImport(avsd, { annotations: f.annotations, media: f.media, out: f.out });
    expect(s.written).toBe(1);
    expect(s.skipped).toEqual({ 'undisclosed answers': 1 });
    expect(readJsonl(f.out)).toEqual([{
      id: 'QRTTY',
      family: 'avsd',
      prompt: [
        { video: 'media/QRTTY.mp4', audioFromVideo: true },
        { text: 'Caption: A person walks in holding a glass and drinks from it.\nQuestion: is there only one person in the video ?\nAnswer: yes , there is only one man\nQuestion: what is he holding ?\nAnswer: he is holding a glass of water\nQuestion: does he say anything ?\nAnswer:' },
      ],
      reference: 'no , there is no talking',
    }]);
  });

  it('--all-turns writes one sample per turn with the history up to it', () => {
    const f = fixture(doc, videos);
    expect(runImport(avsd, { annotations: f.annotations, media: f.media, out: f.out, allTurns: true }).written).toBe(4);
    const out = readJsonl(f.out);
    expect(out.map((s) => s.id)).toEqual(['QRTTY-t1', 'QRTTY-t2', 'QRTTY-t3', '0A8ZT-t1']);
    expect((out[1]!.prompt as { text?: string }[])[1]!.text).toBe(
      'Caption: A person walks in holding a glass and drinks from it.\nQuestion: is there only one person in the video ?\nAnswer: yes , there is only one man\nQuestion: what is he holding ?\nAnswer:',
    );
    expect(out[3]!.reference).toBe('on a brown sofa');
  });

  it('its output runs as a generation sweep (the video piece left out: the placeholder media are empty files)', async () => {
    const f = fixture(doc, videos);
    runImport(avsd, { annotations: f.annotations, media: f.media, out: f.out, allTurns: true });
    const textOnly = join(f.dir, 'text-only.jsonl');
    writeFileSync(textOnly, readJsonl(f.out).map((s) => JSON.stringify({ ...s, prompt: (s.prompt as object[]).slice(1), maxNewTokens: 4 })).join('\n'));
    const samples = loadJsonlDataset(textOnly);
    expect(samples.map((s) => s.reference)).toEqual([['yes , there is only one man'], ['he is holding a glass of water'], ['no , there is no talking'], ['on a brown sofa']]);
    writeFileSync(join(f.dir, 'run.yaml'), `name: avsd\nmodel: ${modelDir}\ndataset: { kind: jsonl, path: text-only.jsonl }\nsamples: 4\nbackend: ts\npolicies: [full, streaming-llm]\nbudgets: ['50%']\nmetrics: [accuracy, fidelity]\n`);
    const run = await runExperiment({ configFile: join(f.dir, 'run.yaml'), out: join(f.dir, 'run'), live: false, log: () => {}, progressStream: devNull });
    expect(run.failed).toEqual([]);
    const full = run.rows.find((r) => r.policy === 'full')!;
    expect(full.text_identical).toBe(1);
    for (const r of run.rows) for (const k of ['exact_match', 'contains', 'bleu_1', 'rouge_l', 'cider'] as const) expect(r[k]).toBeTypeOf('number');
  }, 60_000);
});
