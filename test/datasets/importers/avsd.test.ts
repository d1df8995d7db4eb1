import { describe, expect, it } from 'vitest';
import { avsd } from '../../../src/datasets/importers/avsd.js';
import { runImport } from '../../../src/datasets/importers/run-import.js';
import { loadJsonlDataset } from '../../../src/runner/jsonl-dataset.js';
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

  it('the closed-choice runner refuses generation samples with one clear line', () => {
    const f = fixture(doc, videos);
    runImport(avsd, { annotations: f.annotations, media: f.media, out: f.out });
    expect(() => loadJsonlDataset(f.out)).toThrow(/out\.jsonl:1: sample "QRTTY" is a generation sample \(a "reference" answer, no "choices"\); .*needs a generation-capable runner/);
  });

  it('malformed dialogues name the file, the dialogue and the field', () => {
    const bad = (patch: Record<string, unknown>) => {
      const f = fixture({ dialogs: [doc.dialogs[0], { ...doc.dialogs[1], ...patch }] }, videos);
      return () => runImport(avsd, { annotations: f.annotations, media: f.media, out: f.out });
    };
    expect(bad({ dialog: [] })).toThrow(/annotations\.json: row 1 \(image_id 0A8ZT\): field "dialog": expected a non-empty list of \{question, answer\}/);
    expect(bad({ dialog: [{ question: 'where ?' }] })).toThrow(/row 1 \(image_id 0A8ZT, dialog\[0\]\): field "answer": expected a non-empty string; it is missing/);
    expect(bad({ image_id: 12 })).toThrow(/row 1: field "image_id": expected a non-empty string; got 12 \(number\)/);
    expect(bad({ caption: ['x'] })).toThrow(/row 1 \(image_id 0A8ZT\): field "caption": expected a string/);
    const f = fixture(doc.dialogs, videos);
    expect(() => runImport(avsd, { annotations: f.annotations, media: f.media, out: f.out })).toThrow(/annotations\.json: expected \{"dialogs": .*no "dialogs" list at the top level/);
  });

  it('a missing video names the dialogue and path; options of other formats are refused', () => {
    const f = fixture(doc, ['0A8ZT.mp4']);
    expect(() => runImport(avsd, { annotations: f.annotations, media: f.media, out: f.out })).toThrow(/row 0 \(image_id QRTTY\): sample "QRTTY": media file not found: .*media\/QRTTY\.mp4/);
    expect(() => runImport(avsd, { annotations: f.annotations, media: f.media, out: f.out, task: 'x' })).toThrow('--task: not an option of avsd');
    expect(() => runImport(avsd, { annotations: f.annotations, media: f.media, out: f.out, split: 'test' })).toThrow(/--split: avsd has no split files/);
  });
});
