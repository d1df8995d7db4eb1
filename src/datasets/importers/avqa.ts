/**
 * AVQA (Yang et al., "AVQA: A Dataset for Audio-Visual Question Answering on Videos", ACM MM
 * 2022; mn.cs.tsinghua.edu.cn/avqa, github.com/AlyssaYoung/AVQA). train_qa.json / val_qa.json:
 * a JSON list of {id, video_name, video_id, question_text, multi_choice (4 answer texts),
 * answer (index into multi_choice), question_relation ("Audio" | "Visual" | "Both"),
 * question_type ("Which", "Come From", …)}. Where each name comes from: `question_text`,
 * `multi_choice` and `answer` as an index into it, xiaomi-research/r1-aqa
 * src/dataset/dataset.py; the file names, park-jungin/lynx docs/data_preparation/avqa.md
 * (after PAVE's AVQA preparation); `id`, `video_name`, `question_relation` (Audio / Visual /
 * Both) and `question_type`, public AVQA manifest builders that read the released files.
 *
 * Family: "<question_relation>/<question_type>" (either alone when the other is absent,
 * "default" when both are). Media: `<media>/<video_name>.mp4` (VGGSound clips named
 * "<youtube id>_<start>"); `--media-pattern` maps other layouts, e.g. "{video_id}.mp4".
 */
import {
  type RowRef, fieldError, readAnnotationJson, readId, readInt, readString, readStringList, rowList, rowObject,
} from './annotation-rows.js';
import { type ChoiceSample, type Importer, type ImporterOutput, asContinuations, questionText } from './imported-sample.js';

function optionalString(o: Record<string, unknown>, field: string, row: RowRef): string | undefined {
  return o[field] === undefined ? undefined : readString(o, field, row);
}

function readRow(raw: unknown, row: RowRef): ChoiceSample {
  const o = rowObject(raw, row);
  const id = readId(o, 'id', row);
  const ref = { ...row, id: `id ${id}` };
  const videoName = readString(o, 'video_name', ref);
  const choices = readStringList(o, 'multi_choice', ref, 2);
  const answer = readInt(o, 'answer', ref);
  if (answer < 0 || answer >= choices.length) throw fieldError(ref, 'answer', `an index into multi_choice (0..${choices.length - 1})`, answer);
  const family = [optionalString(o, 'question_relation', ref), optionalString(o, 'question_type', ref)].filter((x) => x !== undefined).join('/');
  const videoId = o.video_id === undefined ? '' : readId(o, 'video_id', ref);
  return {
    id,
    family: family || 'default',
    media: { kind: 'video', fields: { video_name: videoName, video_id: videoId, id }, audioFromVideo: true },
    text: questionText(readString(o, 'question_text', ref)),
    choices: asContinuations(choices),
    answer,
    row: ref,
  };
}

function read(file: string): ImporterOutput {
  const list = rowList(readAnnotationJson(file), file, 'a JSON list of AVQA questions ({id, video_name, question_text, multi_choice, answer, …})');
  return { samples: list.map((raw, index) => readRow(raw, { file, index })), skipped: {} };
}

export const avqa: Importer = {
  name: 'avqa',
  splitFile: (split) => `${split}_qa.json`,
  defaultMediaPattern: () => '{video_name}.mp4',
  patternFields: ['video_name', 'video_id', 'id'],
  takes: [],
  read,
};
