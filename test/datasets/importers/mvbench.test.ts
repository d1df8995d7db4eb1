import { describe, expect, it } from 'vitest';
import { mvbench } from '../../../src/datasets/importers/mvbench.js';
import { runImport } from '../../../src/datasets/importers/run-import.js';
import { fixture, readBackChoices } from './fixture.js';

// The layout of MVBench json/action_sequence.json (OpenGVLab/MVBench): STAR clips on Charades
// videos with start/end seconds, the answer given as the candidate's text.
const actionSequence = [
  { video: '1R6ZC.mp4', question: 'What happened after the person took the food?', candidates: ['Ate the medicine.', 'Tidied up the blanket.', 'Put down the cup/glass/bottle.', 'Took the box.'], answer: 'Ate the medicine.', start: 10.4, end: 21.1 },
  { video: '6H78U.mp4', question: 'What happened after the person held the clothes?', candidates: ['Threw the towel.', 'Put down the clothes.', 'Took the shoe.', 'Opened the door.'], answer: 'Put down the clothes.', start: 3.2, end: 14.9 },
  { video: 'YSKX3.mp4', question: 'What happened before the person sat on the bed?', candidates: ['Took the pillow.', 'Closed the laptop.', 'Opened the closet/cabinet.', 'Put down the dish.'], answer: 'Closed the laptop.', start: 0, end: 12.5 },
];
// json/action_antonym.json: Something-Something v2 webm files, no bounds.
const actionAntonym = [
  { video: '166583.webm', question: 'What is the action performed by the person in the video?', candidates: ['Not sure', 'Scooping something up with something', 'Pouring something out of something'], answer: 'Scooping something up with something' },
];

describe('MVBench importer', () => {
  it('round trip: candidates as choices, answer text → index, start/end on the video piece, family from the task', () => {
    const f = fixture(actionSequence, actionSequence.map((r) => `star/Charades_v1_480/${r.video}`), 'action_sequence.json');
    expect(runImport(mvbench, { annotations: f.annotations, media: f.media, out: f.out }).written).toBe(3);
    const out = readBackChoices(f.out);
    expect(out[1]).toEqual({
      id: 'action_sequence-1',
      family: 'Action Sequence',
      prompt: [{ video: 'media/star/Charades_v1_480/6H78U.mp4', start: 3.2, end: 14.9 }, { text: 'Question: What happened after the person held the clothes?\nAnswer:' }],
      choices: [' Threw the towel.', ' Put down the clothes.', ' Took the shoe.', ' Opened the door.'],
      answer: 1,
    });
    expect((out[2]!.prompt as Record<string, unknown>[])[0]!.start).toBe(0);
  });

  it('--task names the task when the file is named otherwise; rows without bounds write none', () => {
    const f = fixture(actionAntonym, ['ssv2_video/166583.webm'], 'aa.json');
    runImport(mvbench, { annotations: f.annotations, media: f.media, out: f.out, task: 'Action Antonym' });
    const [s] = readBackChoices(f.out);
    expect(s!.family).toBe('Action Antonym');
    expect((s!.prompt as unknown[])[0]).toEqual({ video: 'media/ssv2_video/166583.webm' });
    expect(s!.answer).toBe(1);
  });

  it('a task of unknown name needs --media-pattern; with it, the name is the family', () => {
    const f = fixture(actionAntonym, ['mine/166583.webm'], 'my_task.json');
    expect(() => runImport(mvbench, { annotations: f.annotations, media: f.media, out: f.out })).toThrow(/MVBench task "my_task" is not one of the known tasks \(action_sequence, .*\); name one with --task, or give --media-pattern/);
    runImport(mvbench, { annotations: f.annotations, media: f.media, out: f.out, mediaPattern: 'mine/{video}' });
    expect(readBackChoices(f.out)[0]!.family).toBe('my_task');
  });

  it('frame-folder tasks are refused naming the task', () => {
    const f = fixture([{ video: 's01e02_seg02_clip_14', question: 'Q?', candidates: ['a', 'b'], answer: 'a', start: 1, end: 2 }], [], 'episodic_reasoning.json');
    expect(() => runImport(mvbench, { annotations: f.annotations, media: f.media, out: f.out })).toThrow(/MVBench task "Episodic Reasoning" stores its media as frame folders \(tvqa\/frames_fps3_hq\/\).*not support/);
  });

  it('malformed rows name the file, the row and the field', () => {
    const bad = (patch: Record<string, unknown>) => {
      const f = fixture([actionSequence[0], { ...actionSequence[1], ...patch }], actionSequence.map((r) => `star/Charades_v1_480/${r.video}`), 'action_sequence.json');
      return () => runImport(mvbench, { annotations: f.annotations, media: f.media, out: f.out });
    };
    expect(bad({ answer: 'Took the hat.' })).toThrow(/action_sequence\.json: row 1 \(video 6H78U\.mp4\): field "answer": expected one of the candidates \("Threw the towel\.", .*\); got "Took the hat\."/);
    expect(bad({ candidates: ['only one'] })).toThrow(/row 1 \(video 6H78U\.mp4\): field "candidates": expected a list of at least 2 strings/);
    expect(bad({ end: 1 })).toThrow(/row 1 \(video 6H78U\.mp4\): field "end": expected seconds after start \(3\.2\); got 1/);
    expect(bad({ start: '3.2' })).toThrow(/field "start": expected a number of seconds ≥ 0; got "3\.2" \(string\)/);
    expect(bad({ question: 7 })).toThrow(/field "question": expected a non-empty string; got 7 \(number\)/);
  });

  it('a missing clip names the sample and the expected path under the task folder', () => {
    const f = fixture(actionSequence, [], 'action_sequence.json');
    expect(() => runImport(mvbench, { annotations: f.annotations, media: f.media, out: f.out })).toThrow(/sample "action_sequence-0": media file not found: .*media\/star\/Charades_v1_480\/1R6ZC\.mp4/);
    expect(() => runImport(mvbench, { annotations: f.annotations, media: f.media, out: f.out, allowMissing: true })).toThrow(/no sample left to write \(skipped: 3 missing media\)/);
  });
});
