/** Every CLI command, one import per line (each file exports a yargs CommandModule). */
import type { CommandModule } from 'yargs';
import { compareCommand } from './compare.js';
import { reportCommand } from './report.js';
import { runCommand } from './run.js';
import { schemaCommand } from './schema.js';
import { generateCommand } from './generate.js';
import { inspectCommand } from './inspect.js';
import { initModelCommand } from './init-model.js';
import { benchCommand } from './bench.js';
import { policiesCommand } from './policies.js';
import { datasetCommand } from './dataset.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [runCommand, reportCommand, compareCommand, schemaCommand, generateCommand, inspectCommand, initModelCommand, policiesCommand, benchCommand, datasetCommand];
