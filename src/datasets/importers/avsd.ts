/**
 * AVSD, audio-visual scene-aware dialog (Alamri et al., CVPR 2019, arXiv:1901.09107; DSTC7,
 * DSTC8 and DSTC10 tracks; files such as train_set4DSTC7-AVSD.json, test_set4DSTC8-AVSD.json).
 * Layout as read by the DSTC7 AVSD baseline's data handler and its descendants: {"dialogs":
 * [{image_id, summary, caption, dialog: [{question, answer}…]}]}, image_id naming the Charades
 * video; their test-time generation answers only the last turn, dialog[-1] (the default here).
 *
 * Open-ended: one sample per dialogue — caption, the earlier turns as history, the last
 * question — with the last answer as `reference`; `allTurns` writes one sample per turn
 * (history up to it). Ours: the summary is not shown (the questioner wrote it after the
 * dialogue); official test files hide the last answer as "__UNDISCLOSED__", such turns are
 * skipped and counted. Media: `<media>/<image_id>.mp4`, audio-visual.
 */
import {
  ImportError, type RowRef, fieldError, readAnnotationJson, readString, rowObject,
} from './annotation-rows.js';
import type { Importer, ImporterOptions, ImporterOutput, ReferenceSample } from './imported-sample.js';

const UNDISCLOSED = '__UNDISCLOSED__';

interface Turn {
  question: string;
  answer: string;
}

function readTurns(o: Record<string, unknown>, ref: RowRef): Turn[] {
  const list = o.dialog;
  if (!Array.isArray(list) || list.length === 0) throw fieldError(ref, 'dialog', 'a non-empty list of {question, answer}', list);
  return list.map((t, k) => {
    const where = { ...ref, id: `${ref.id}, dialog[${k}]` };
    const turn = rowObject(t, where);
    return { question: readString(turn, 'question', where), answer: readString(turn, 'answer', where) };
  });
}

/** Caption, then earlier turns, then the asked question, ending at the answer cue. */
function dialogueText(caption: string | undefined, history: Turn[], asked: string): string {
  const lines = caption ? [`Caption: ${caption.trim()}`] : [];
  for (const t of history) lines.push(`Question: ${t.question.trim()}`, `Answer: ${t.answer.trim()}`);
  lines.push(`Question: ${asked.trim()}`, 'Answer:');
  return lines.join('\n');
}

function read(file: string, opts: ImporterOptions): ImporterOutput {
  const doc = readAnnotationJson(file);
  const dialogs = doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? (doc as Record<string, unknown>).dialogs : undefined;
  if (!Array.isArray(dialogs)) throw new ImportError(`${file}: expected {"dialogs": [{image_id, caption, summary, dialog: [{question, answer}…]}…]}; no "dialogs" list at the top level`);
  if (dialogs.length === 0) throw new ImportError(`${file}: the "dialogs" list is empty`);
  const samples: ReferenceSample[] = [];
  let undisclosed = 0;
  dialogs.forEach((raw, index) => {
    const row: RowRef = { file, index };
    const o = rowObject(raw, row);
    const imageId = readString(o, 'image_id', row);
    const ref = { ...row, id: `image_id ${imageId}` };
    if (o.caption !== undefined && typeof o.caption !== 'string') throw fieldError(ref, 'caption', 'a string', o.caption);
    const caption = o.caption as string | undefined;
    const turns = readTurns(o, ref);
    const asked = opts.allTurns ? turns.map((_, k) => k) : [turns.length - 1];
    for (const k of asked) {
      const turn = turns[k]!;
      if (turn.answer.trim() === UNDISCLOSED) {
        undisclosed++;
        continue;
      }
      samples.push({
        id: opts.allTurns ? `${imageId}-t${k + 1}` : imageId,
        family: 'avsd',
        media: { kind: 'video', fields: { image_id: imageId }, audioFromVideo: true },
        text: dialogueText(caption, turns.slice(0, k), turn.question),
        reference: turn.answer.trim(),
        row: ref,
      });
    }
  });
  return { samples, skipped: { 'undisclosed answers': undisclosed } };
}

export const avsd: Importer = {
  name: 'avsd',
  defaultMediaPattern: () => '{image_id}.mp4',
  patternFields: ['image_id'],
  takes: ['allTurns'],
  read,
};
