/**
 * MUSIC-AVQA (Li et al., "Learning to Answer Questions in Dynamic Audio-Visual Scenarios",
 * CVPR 2022; github.com/GeWu-Lab/MUSIC-AVQA). Layout taken from data/json_update/avqa-*.json
 * of that repository: a JSON list of {video_id, question_id, type, question_content,
 * templ_values, question_deleted, anser (sic)}, where `type` and `templ_values` are strings
 * holding JSON lists and the question's <Object>/<LL>/<FL>… placeholders are filled in order
 * from templ_values (net_grd_avst/dataloader_avst.py does the same, word by word).
 *
 * The benchmark is closed-vocabulary classification, so the choices are the answers the file
 * holds for the question's type (default) or for the whole file (`choices: all`); ours: the
 * vocabulary is sorted, and rows with question_deleted = 1 are skipped and counted.
 * Media: `<media>/<video_id>.mp4`, audio-visual (the video's audio track is the audio).
 */
import {
  ImportError, type RowRef, fieldError, readAnnotationJson, readEncodedStringList, readId, readString, rowList, rowObject,
} from './annotation-rows.js';
import { type ChoiceSample, type Importer, type ImporterOptions, type ImporterOutput, asContinuations, questionText } from './imported-sample.js';

interface MusicAvqaRow {
  row: RowRef;
  videoId: string;
  questionId: string;
  family: string;
  question: string;
  answer: string;
}

function readRow(raw: unknown, row: RowRef): MusicAvqaRow | 'deleted' {
  const o = rowObject(raw, row);
  const questionId = readId(o, 'question_id', row);
  const ref = { ...row, id: `question_id ${questionId}` };
  const deleted = o.question_deleted;
  if (deleted !== undefined && deleted !== 0 && deleted !== 1) throw fieldError(ref, 'question_deleted', '0 or 1', deleted);
  if (deleted === 1) return 'deleted';
  const type = readEncodedStringList(o, 'type', ref);
  if (type.length === 0) throw fieldError(ref, 'type', 'a non-empty list like "[\\"Audio\\", \\"Counting\\"]"', o.type);
  const values = readEncodedStringList(o, 'templ_values', ref);
  const template = readString(o, 'question_content', ref);
  const slots = template.match(/<[^<>\s]+>/g) ?? [];
  if (slots.length !== values.length) {
    throw fieldError(ref, 'templ_values', `${slots.length} values, one per placeholder of question_content (${slots.join(' ') || 'none'})`, o.templ_values);
  }
  let next = 0;
  const question = template.replace(/<[^<>\s]+>/g, () => values[next++]!);
  return { row: ref, videoId: readId(o, 'video_id', ref), questionId, family: type.join('/'), question, answer: readString(o, 'anser', ref) };
}

function read(file: string, opts: ImporterOptions): ImporterOutput {
  const list = rowList(readAnnotationJson(file), file, 'a JSON list of MUSIC-AVQA questions ({video_id, question_id, type, question_content, templ_values, question_deleted, anser})');
  const rows: MusicAvqaRow[] = [];
  let deleted = 0;
  list.forEach((raw, index) => {
    const r = readRow(raw, { file, index });
    if (r === 'deleted') deleted++;
    else rows.push(r);
  });
  const vocabulary = answerVocabulary(rows, opts.choices ?? 'type');
  const samples: ChoiceSample[] = rows.map((r) => {
    const answers = vocabulary.get(opts.choices === 'all' ? '' : r.family)!;
    if (answers.length < 2) {
      throw new ImportError(`${file}: question type "${r.family}" has a single answer ("${answers[0]}") in this file, so it offers no choice; use --choices all`);
    }
    return {
      id: r.questionId,
      family: r.family,
      media: { kind: 'video', fields: { video_id: r.videoId, question_id: r.questionId }, audioFromVideo: true },
      text: questionText(r.question),
      choices: asContinuations(answers),
      answer: answers.indexOf(r.answer),
      row: r.row,
    };
  });
  return { samples, skipped: { question_deleted: deleted } };
}

/** Sorted answer lists keyed by family ("" = every answer of the file under `all`). */
function answerVocabulary(rows: MusicAvqaRow[], mode: 'type' | 'all'): Map<string, string[]> {
  const sets = new Map<string, Set<string>>();
  for (const r of rows) {
    const key = mode === 'all' ? '' : r.family;
    if (!sets.has(key)) sets.set(key, new Set());
    sets.get(key)!.add(r.answer);
  }
  return new Map([...sets].map(([k, s]) => [k, [...s].sort()]));
}

export const musicAvqa: Importer = {
  name: 'music-avqa',
  splitFile: (split) => `avqa-${split}.json`,
  defaultMediaPattern: () => '{video_id}.mp4',
  patternFields: ['video_id', 'question_id'],
  takes: ['choices'],
  read,
};
