import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { musicAvqa } from '../../../src/datasets/importers/music-avqa.js';
import { runImport } from '../../../src/datasets/importers/run-import.js';
import { fixture, mediaPath, readBackChoices } from './fixture.js';

// Real rows of data/json_update/avqa-test.json (github.com/GeWu-Lab/MUSIC-AVQA), plus one
// deleted question in the same layout.
const rows = [
  { video_id: '00000153', question_id: 13, type: '["Audio-Visual", "Existential"]', question_content: 'Is there a voiceover?', templ_values: '[]', question_deleted: 0, anser: 'yes' },
  { video_id: '00000086', question_id: 28, type: '["Audio-Visual", "Existential"]', question_content: 'Is the <Object> in the video always playing?', templ_values: '["violin"]', question_deleted: 0, anser: 'no' },
  { video_id: '00000100', question_id: 35, type: '["Audio-Visual", "Counting"]', question_content: 'How many sounding <Object> in the video\uff1f', templ_values: '["violin"]', question_deleted: 0, anser: 'three' },
  { video_id: '00000023', question_id: 48, type: '["Audio-Visual", "Counting"]', question_content: 'How many sounding <Object> in the video\uff1f', templ_values: '["guzheng"]', question_deleted: 0, anser: 'four' },
  { video_id: '00000045', question_id: 95, type: '["Audio-Visual", "Comparative"]', question_content: 'Is the instrument on the <LR> more rhythmic than the instrument on the <LR>?', templ_values: '["right", "left"]', question_deleted: 0, anser: 'yes' },
  { video_id: '00000012', question_id: 174, type: '["Audio-Visual", "Comparative"]', question_content: 'Is the instrument on the <LR> more rhythmic than the instrument on the <LR>?', templ_values: '["right", "left"]', question_deleted: 0, anser: 'no' },
  { video_id: '00000099', question_id: 200, type: '["Audio", "Counting"]', question_content: 'How many musical instruments were heard throughout the video?', templ_values: '[]', question_deleted: 1, anser: 'two' },
];
const videos = rows.map((r) => `${r.video_id}.mp4`);

describe('MUSIC-AVQA importer', () => {
  it('round trip: fills placeholders in order, answers of the type as choices, family from type, deleted rows counted', () => {
    const f = fixture(rows, videos);
    const summary = runImport(musicAvqa, { annotations: f.annotations, media: f.media, out: f.out });
    expect(summary.written).toBe(6);
    expect(summary.skipped).toEqual({ question_deleted: 1 });
    const out = readBackChoices(f.out);
    expect(out.map((s) => s.id)).toEqual(['13', '28', '35', '48', '95', '174']);
    const q95 = out[4]!;
    expect(q95.family).toBe('Audio-Visual/Comparative');
    expect(q95.prompt).toEqual([
      { video: 'media/00000045.mp4', audioFromVideo: true },
      { text: 'Question: Is the instrument on the right more rhythmic than the instrument on the left?\nAnswer:' },
    ]);
    expect(q95.choices).toEqual([' no', ' yes']);
    expect(q95.answer).toBe(1);
    expect(out[3]!.choices).toEqual([' four', ' three']); // only this type's answers
    expect(out[3]!.answer).toBe(0);
    expect(mediaPath((out[0]!.prompt as Record<string, unknown>[])[0]!, f.out)).toBe(join(f.media, '00000153.mp4'));
  });

  it('--choices all offers the whole answer vocabulary of the file', () => {
    const f = fixture(rows, videos);
    runImport(musicAvqa, { annotations: f.annotations, media: f.media, out: f.out, choices: 'all' });
    const out = readBackChoices(f.out);
    expect(out[2]!.choices).toEqual([' four', ' no', ' three', ' yes']);
    expect(out[2]!.answer).toBe(2);
  });

  it('--split picks avqa-<split>.json from a folder; --limit stops early', () => {
    const f = fixture(rows, videos, 'avqa-val.json');
    const s = runImport(musicAvqa, { annotations: f.dir, split: 'val', media: f.media, out: f.out, limit: 2 });
    expect(s.written).toBe(2);
    expect(() => runImport(musicAvqa, { annotations: f.dir, split: 'test', media: f.media, out: f.out })).toThrow(/--split "test": expected .*avqa-test\.json; the folder holds avqa-val\.json/);
  });

  it('malformed rows name the file, the row and the field', () => {
    const bad = (patch: Record<string, unknown>) => {
      const f = fixture([rows[0], { ...rows[1], ...patch }], videos);
      return () => runImport(musicAvqa, { annotations: f.annotations, media: f.media, out: f.out, choices: 'all' });
    };
    expect(bad({ anser: undefined })).toThrow(/annotations\.json: row 1 \(question_id 28\): field "anser": expected a non-empty string; it is missing/);
    expect(bad({ type: ['Audio'] })).toThrow(/row 1 \(question_id 28\): field "type": expected a string holding a JSON list of strings/);
    expect(bad({ templ_values: '[]' })).toThrow(/row 1 \(question_id 28\): field "templ_values": expected 1 values, one per placeholder of question_content \(<Object>\)/);
    expect(bad({ question_deleted: 'no' })).toThrow(/field "question_deleted": expected 0 or 1/);
  });

  it('a type with one answer in the file offers no choice: clear error naming the type', () => {
    const f = fixture([rows[2]], videos);
    expect(() => runImport(musicAvqa, { annotations: f.annotations, media: f.media, out: f.out })).toThrow(/question type "Audio-Visual\/Counting" has a single answer \("three"\).*--choices all/);
  });

  it('missing media: error naming the sample and the expected path; --allow-missing skips and counts', () => {
    const f = fixture(rows, videos.filter((v) => v !== '00000100.mp4'));
    expect(() => runImport(musicAvqa, { annotations: f.annotations, media: f.media, out: f.out })).toThrow(
      `row 2 (question_id 35): sample "35": media file not found: ${join(f.media, '00000100.mp4')}`,
    );
    expect(existsSync(f.out)).toBe(false);
    const s = runImport(musicAvqa, { annotations: f.annotations, media: f.media, out: f.out, allowMissing: true });
    expect(s.written).toBe(5);
    expect(s.skipped).toEqual({ question_deleted: 1, 'missing media': 1 });
  });
});
