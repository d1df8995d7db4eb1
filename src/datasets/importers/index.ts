/** Benchmark importers by format name (`kvprism dataset import <format>`). */
import { avqa } from './avqa.js';
import { avsd } from './avsd.js';
import type { Importer } from './imported-sample.js';
import { musicAvqa } from './music-avqa.js';
import { mvbench } from './mvbench.js';

export const IMPORTERS: Readonly<Record<string, Importer>> = {
  'music-avqa': musicAvqa,
  avqa,
  mvbench,
  avsd,
};

export { runImport, formatSummary, type ImportRequest, type ImportSummary } from './run-import.js';
export { ImportError } from './annotation-rows.js';
export { MVBENCH_TASKS, findMvbenchTask, type MvbenchTask } from './mvbench-tasks.js';
export type { Importer, ImporterOptions, ImportedSample } from './imported-sample.js';
