import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { avqa } from '../../../src/datasets/importers/avqa.js';
import { runImport } from '../../../src/datasets/importers/run-import.js';
import { fixture, readBackChoices } from './fixture.js';

// The layout of AVQA's val_qa.json (Yang et al., ACM MM 2022): VGGSound clip names, four
// answer texts, the answer as an index.
const rows = [
  { id: 183, video_name: '-HG3Omg_89c_000030', video_id: 341, question_text: 'What is the main sound source of the video?', multi_choice: ['motorboat', 'Yacht consignment', 'Sailboat set sail', 'Consignment car'], answer: 0, question_relation: 'Both', question_type: 'Which' },
  { id: 184, video_name: '-HG3Omg_89c_000030', video_id: 341, question_text: 'Where is the sound in the video coming from?', multi_choice: ['car', 'boat', 'train', 'plane'], answer: 1, question_relation: 'Both', question_type: 'Come From' },
  { id: 905, video_name: '0Dt7HrnMe1c_000051', video_id: 1702, question_text: 'What happened in the video?', multi_choice: ['A dog is barking', 'A cat is meowing', 'A cow is mooing', 'A bird sings'], answer: 3, question_relation: 'Audio', question_type: 'Happening' },
];
const videos = ['-HG3Omg_89c_000030.mp4', '0Dt7HrnMe1c_000051.mp4'];

describe('AVQA importer', () => {
  it('round trip: multi_choice as choices, answer index kept, family relation/type, media from video_name', () => {
    const f = fixture(rows, videos);
    const s = runImport(avqa, { annotations: f.annotations, media: f.media, out: f.out });
    expect(s.written).toBe(3);
    const out = readBackChoices(f.out);
    expect(out[2]).toEqual({
      id: '905',
      family: 'Audio/Happening',
      prompt: [{ video: 'media/0Dt7HrnMe1c_000051.mp4', audioFromVideo: true }, { text: 'Question: What happened in the video?\nAnswer:' }],
      choices: [' A dog is barking', ' A cat is meowing', ' A cow is mooing', ' A bird sings'],
      answer: 3,
    });
    expect(out[1]!.family).toBe('Both/Come From');
  });

  it('--media-pattern maps other layouts; unknown placeholders are refused naming the offered ones', () => {
    const f = fixture(rows, ['clips/341.mp4', 'clips/1702.mp4']);
    runImport(avqa, { annotations: f.annotations, media: f.media, out: f.out, mediaPattern: 'clips/{video_id}.mp4' });
    expect((readBackChoices(f.out)[0]!.prompt as unknown[])[0]).toEqual({ video: 'media/clips/341.mp4', audioFromVideo: true });
    expect(() => runImport(avqa, { annotations: f.annotations, media: f.media, out: f.out, mediaPattern: '{name}.mp4' })).toThrow(
      '--media-pattern "{name}.mp4": unknown placeholder {name}; avqa offers {video_name}, {video_id}, {id}',
    );
  });

  it('malformed rows name the file, the row and the field', () => {
    const bad = (patch: Record<string, unknown>) => {
      const f = fixture([rows[0], { ...rows[1], ...patch }], videos);
      return () => runImport(avqa, { annotations: f.annotations, media: f.media, out: f.out });
    };
    expect(bad({ answer: 4 })).toThrow(/annotations\.json: row 1 \(id 184\): field "answer": expected an index into multi_choice \(0\.\.3\); got 4 \(number\)/);
    expect(bad({ answer: '1' })).toThrow(/row 1 \(id 184\): field "answer": expected a whole number; got "1" \(string\)/);
    expect(bad({ multi_choice: 'car, boat' })).toThrow(/row 1 \(id 184\): field "multi_choice": expected a list of at least 2 strings/);
    expect(bad({ video_name: undefined })).toThrow(/row 1 \(id 184\): field "video_name": expected a non-empty string; it is missing/);
    expect(bad({ id: undefined })).toThrow(/row 1: field "id": expected an id/);
    const f = fixture({ questions: rows }, videos);
    expect(() => runImport(avqa, { annotations: f.annotations, media: f.media, out: f.out })).toThrow(/annotations\.json: expected a JSON list of AVQA questions/);
  });

  it('missing media names the sample and path; --allow-missing counts it', () => {
    const f = fixture(rows, [videos[0]!]);
    expect(() => runImport(avqa, { annotations: f.annotations, media: f.media, out: f.out })).toThrow(`sample "905": media file not found: ${join(f.media, '0Dt7HrnMe1c_000051.mp4')}`);
    expect(runImport(avqa, { annotations: f.annotations, media: f.media, out: f.out, allowMissing: true }).skipped).toEqual({ 'missing media': 1 });
  });
});
