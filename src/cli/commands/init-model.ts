/** `kvprism init-model --preset NAME --out DIR [--dtype f32|bf16] [--layers N] [--tower-layers N]`: random weights at published shapes. */
import type { CommandModule } from 'yargs';
import { isModality } from '../../cache/modality.js';
import { describeModel, formatDescription } from '../../model/describe.js';
import { initModel, type InitModelOptions } from '../../model/init-model.js';
import { PRESET_NAMES, type PresetName } from '../../model/presets.js';

interface InitModelArgs {
  preset: PresetName;
  out: string;
  dtype: 'f32' | 'f16' | 'bf16';
  layers?: number;
  'tower-layers'?: number;
  seed: number;
  projector: string[];
}

export const initModelCommand: CommandModule<object, InitModelArgs> = {
  command: 'init-model',
  describe: 'Write a HF-format model folder with random weights at a published shape (speed and memory work)',
  builder: (y) =>
    y
      .option('preset', { choices: PRESET_NAMES, demandOption: true, describe: 'Model shape' })
      .option('out', { type: 'string', demandOption: true, describe: 'Folder to write' })
      .option('dtype', { choices: ['f32', 'f16', 'bf16'] as const, default: 'f32' as const, describe: 'Weight storage type' })
      .option('layers', { type: 'number', describe: 'Override the number of layers' })
      .option('tower-layers', { type: 'number', describe: 'Override the depth of the vision / audio towers' })
      .option('seed', { type: 'number', default: 0 })
      .option('projector', { type: 'string', array: true, default: [], describe: 'Add a feature projector: MODALITY:FEATURE_DIM (e.g. audio:128)' }),
  handler: (argv) => {
    initModel({ preset: argv.preset, out: argv.out, dtype: argv.dtype, layers: argv.layers, towerLayers: argv['tower-layers'], seed: argv.seed, projectors: parseProjectors(argv.projector) });
    console.log(formatDescription(describeModel(argv.out)));
  },
};

function parseProjectors(specs: string[]): InitModelOptions['projectors'] {
  const out: NonNullable<InitModelOptions['projectors']> = {};
  for (const s of specs) {
    const m = /^(\w+):(\d+)$/.exec(s);
    if (!m || !isModality(m[1]) || m[1] === 'text' || Number(m[2]) < 1) throw new Error(`--projector "${s}": expected MODALITY:FEATURE_DIM with modality image, video or audio, e.g. audio:128`);
    out[m[1]] = Number(m[2]);
  }
  return out;
}
