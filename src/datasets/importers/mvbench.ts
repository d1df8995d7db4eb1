/**
 * MVBench (Li et al., "MVBench: A Comprehensive Multi-modal Video Understanding Benchmark",
 * CVPR 2024, arXiv:2311.17005; github.com/OpenGVLab/Ask-Anything, video_chat2/MVBENCH.md).
 * One json/<task>.json per task: a JSON list of {video, question, candidates (answer texts),
 * answer (the right candidate's text), start?, end? (seconds, the clip within the video)}.
 * One import per task file: `task` (its key or display name; default the file's base name)
 * sets the family and the video folder (mvbench-tasks.ts). Frame-folder tasks (Episodic
 * Reasoning) are refused: kvprism's media pieces are files. Video only (no audio track used).
 */
import { basename, extname } from 'node:path';
import {
  ImportError, type RowRef, fieldError, readAnnotationJson, readOptionalSeconds, readString, readStringList, rowList, rowObject,
} from './annotation-rows.js';
import { type ChoiceSample, type Importer, type ImporterOptions, type ImporterOutput, asContinuations, questionText } from './imported-sample.js';
import { MVBENCH_TASKS, type MvbenchTask, findMvbenchTask } from './mvbench-tasks.js';

/** The task of an import: --task, else the annotation file's base name; an unknown name is a task of the user's own (family = the name). */
function taskOf(file: string, opts: ImporterOptions): MvbenchTask {
  const name = opts.task ?? basename(file, extname(file));
  const task = findMvbenchTask(name) ?? { key: name, name, prefix: '', dataType: 'video' as const };
  if (task.dataType === 'frame') {
    throw new ImportError(`${file}: MVBench task "${task.name}" stores its media as frame folders (${task.prefix}), which kvprism media pieces do not support; import the video tasks instead`);
  }
  return task;
}

function readRow(raw: unknown, row: RowRef, task: MvbenchTask): ChoiceSample {
  const o = rowObject(raw, row);
  const video = readString(o, 'video', row);
  const ref = { ...row, id: `video ${video}` };
  const candidates = readStringList(o, 'candidates', ref, 2);
  const answerText = readString(o, 'answer', ref);
  const answer = candidates.indexOf(answerText);
  if (answer < 0) throw fieldError(ref, 'answer', `one of the candidates (${candidates.map((c) => JSON.stringify(c)).join(', ')})`, answerText);
  const start = readOptionalSeconds(o, 'start', ref);
  const end = readOptionalSeconds(o, 'end', ref);
  if (start !== undefined && end !== undefined && end <= start) throw fieldError(ref, 'end', `seconds after start (${start})`, end);
  return {
    id: `${task.key}-${row.index}`,
    family: task.name,
    media: { kind: 'video', fields: { video, task: task.key }, start, end },
    text: questionText(readString(o, 'question', ref)),
    choices: asContinuations(candidates),
    answer,
    row: ref,
  };
}

function read(file: string, opts: ImporterOptions): ImporterOutput {
  const task = taskOf(file, opts);
  const list = rowList(readAnnotationJson(file), file, 'a JSON list of MVBench questions ({video, question, candidates, answer, start?, end?})');
  return { samples: list.map((raw, index) => readRow(raw, { file, index }, task)), skipped: {} };
}

export const mvbench: Importer = {
  name: 'mvbench',
  defaultMediaPattern: (opts, annotations) => {
    const task = taskOf(annotations, opts);
    if (findMvbenchTask(task.key)) return `${task.prefix}{video}`;
    const known = MVBENCH_TASKS.map((t) => t.key).join(', ');
    throw new ImportError(`${annotations}: MVBench task "${task.key}" is not one of the known tasks (${known}); name one with --task, or give --media-pattern for its videos (e.g. "{video}")`);
  },
  patternFields: ['video', 'task'],
  takes: ['task'],
  read,
};
