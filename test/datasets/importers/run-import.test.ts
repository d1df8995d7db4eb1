/** What every format shares: reading the annotation file, options, ids and media paths. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { avqa } from '../../../src/datasets/importers/avqa.js';
import { pathForJsonl } from '../../../src/datasets/importers/media-paths.js';
import { runImport } from '../../../src/datasets/importers/run-import.js';
import { fixture } from './fixture.js';

const row = { id: 7, video_name: 'clip_000010', video_id: 3, question_text: 'What sounds?', multi_choice: ['dog', 'cat'], answer: 1 };

describe('dataset import, shared rules', () => {
  it('unreadable, folder and non-JSON annotation files are named', () => {
    const f = fixture([row], ['clip_000010.mp4']);
    const go = (annotations: string) => () => runImport(avqa, { annotations, media: f.media, out: f.out });
    expect(go(join(f.dir, 'nope.json'))).toThrow(`--annotations: cannot read "${join(f.dir, 'nope.json')}" (ENOENT)`);
    expect(go(f.dir)).toThrow(`--annotations: "${f.dir}" is a folder; expected a JSON annotation file (or give --split to pick one from the folder)`);
    writeFileSync(f.annotations, '[{"id": 7,');
    expect(go(f.annotations)).toThrow(new RegExp(`${f.annotations.replace(/[.]/g, '\\.')}: not valid JSON`));
  });

  it('a repeated sample id names both rows', () => {
    const f = fixture([row, { ...row, question_text: 'Again?' }], ['clip_000010.mp4']);
    expect(() => runImport(avqa, { annotations: f.annotations, media: f.media, out: f.out })).toThrow(/row 1 \(id 7\): sample id "7" was already taken by row 0; ids must be unique/);
  });

  it('--limit and --media are checked', () => {
    const f = fixture([row], ['clip_000010.mp4']);
    expect(() => runImport(avqa, { annotations: f.annotations, media: f.media, out: f.out, limit: 0 })).toThrow('--limit: expected a whole number ≥ 1; got 0');
    expect(() => runImport(avqa, { annotations: f.annotations, media: f.annotations, out: f.out })).toThrow(/--media: ".*annotations\.json" is not a folder/);
  });

  it('media paths: relative inside the JSONL folder, absolute outside it', () => {
    expect(pathForJsonl('/data/set/media/a.mp4', '/data/set')).toBe('media/a.mp4');
    expect(pathForJsonl('/data/media/a.mp4', '/data/set')).toBe('/data/media/a.mp4');
    expect(pathForJsonl('/data/settle/a.mp4', '/data/set')).toBe('/data/settle/a.mp4');
  });
});
