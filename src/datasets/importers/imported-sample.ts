/**
 * What every importer produces: one benchmark question as media reference + question text +
 * closed choices or an open reference answer, before media paths are resolved and written.
 */
import type { RowRef } from './annotation-rows.js';

/** Which media piece a sample opens with; the file is found by expanding the media pattern. */
export interface MediaRef {
  kind: 'video' | 'audio' | 'image';
  /** Values for the media pattern's placeholders ("{video_id}" → "00000093"). */
  fields: Record<string, string>;
  /** The benchmark is audio-visual: the audio track of the same video file is the audio. */
  audioFromVideo?: boolean;
  /** Clip bounds in seconds within the video, when the benchmark names them. */
  start?: number;
  end?: number;
}

interface SampleBase {
  id: string;
  family: string;
  media: MediaRef;
  /** The text piece after the media: the question (and dialogue history), ending where the answer starts. */
  text: string;
  /** The annotation row it came from, for error messages. */
  row: RowRef;
}

/** Closed-choice sample: `choices` are scored as continuations of the text. */
export interface ChoiceSample extends SampleBase {
  choices: string[];
  answer: number;
}

/** Open-ended sample: a reference answer for generation metrics. */
export interface ReferenceSample extends SampleBase {
  reference: string;
}

export type ImportedSample = ChoiceSample | ReferenceSample;

/** What an importer read from one annotation file. */
export interface ImporterOutput {
  samples: ImportedSample[];
  /** Rows left out on purpose, by reason ("question_deleted" → 3). */
  skipped: Record<string, number>;
}

/** Options a format may read; the CLI refuses the ones a format does not take. */
export interface ImporterOptions {
  /** MUSIC-AVQA: candidate answers per question type ("type") or the file's whole vocabulary ("all"). */
  choices?: 'type' | 'all';
  /** MVBench: the task (its json file's base name or display name). */
  task?: string;
  /** AVSD: one sample per dialogue turn instead of one per dialogue. */
  allTurns?: boolean;
}

/** One benchmark format: how to read its annotation file and find its media. */
export interface Importer {
  name: string;
  /** The annotation file of a split inside a folder ("test" → "avqa-test.json"), when splits are files. */
  splitFile?: (split: string) => string;
  /** Default media pattern, relative to --media. */
  defaultMediaPattern: (opts: ImporterOptions, annotations: string) => string;
  /** Placeholders a media pattern may use. */
  patternFields: readonly string[];
  /** Options of ImporterOptions this format reads. */
  takes: readonly (keyof ImporterOptions)[];
  read: (file: string, opts: ImporterOptions) => ImporterOutput;
}

/** Answer texts as continuations of a prompt ending in "Answer:" (the tokenizer sees the space). */
export function asContinuations(answers: readonly string[]): string[] {
  return answers.map((a) => ` ${a.trim()}`);
}

/** The text piece of a closed or open question: the question, then the answer cue. */
export function questionText(question: string): string {
  return `Question: ${question.trim()}\nAnswer:`;
}
