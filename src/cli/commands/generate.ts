/** `kvprism generate --model DIR --prompt TEXT [--policy NAME --budget B] [--max-new N] [--backend ...]` */
import type { CommandModule } from 'yargs';
import { parseBudget } from '../../cache/budget.js';
import { fmtBytes } from '../../model/describe.js';
import { generate } from '../../model/generate.js';
import { loadModel } from '../../model/model.js';
import { createPolicy } from '../../model/policy-for-model.js';
import { resolveBackend } from '../../runner/backend-choice.js';
import { BACKENDS, type BackendChoice } from '../../runner/config-schema.js';

interface GenerateArgs {
  model: string;
  prompt: string;
  policy?: string;
  budget?: string;
  'max-new': number;
  backend: BackendChoice;
  threads: number;
  temperature: number;
  'top-p': number;
  seed: number;
  'kv-dtype': 'f32' | 'f16' | 'bf16';
}

export const generateCommand: CommandModule<object, GenerateArgs> = {
  command: 'generate',
  describe: 'Generate text from a HF model folder, with the KV cache compressed by a policy',
  builder: (y) =>
    y
      .option('model', { type: 'string', demandOption: true, describe: 'HF model folder (config.json, model.safetensors, tokenizer)' })
      .option('prompt', { type: 'string', default: '', describe: 'Prompt text (empty: start from BOS alone)' })
      .option('policy', { type: 'string', describe: 'Compression policy name (see the catalogue); absent = full cache' })
      .option('budget', { type: 'string', describe: 'Budget with --policy: ratio ("20%", 0.2) or tokens ("512t")' })
      .option('max-new', { type: 'number', default: 128, describe: 'Most tokens to generate' })
      .option('backend', { choices: BACKENDS, default: 'auto' as BackendChoice, describe: 'Compute backend' })
      .option('threads', { type: 'number', default: 0, describe: 'Native threads (0 = backend default)' })
      .option('temperature', { type: 'number', default: 0, describe: '0 = greedy' })
      .option('top-p', { type: 'number', default: 1, describe: 'Nucleus mass in (0, 1]' })
      .option('seed', { type: 'number', default: 0, describe: 'Sampling and policy seed' })
      .option('kv-dtype', { choices: ['f32', 'f16', 'bf16'] as const, default: 'f32' as const, describe: 'K/V storage type' }),
  handler: async (argv) => {
    if (argv.policy && argv.budget === undefined) throw new Error('--budget is required with --policy (e.g. --budget 20%)');
    const backend = await resolveBackend(argv.backend, argv.threads);
    const model = loadModel(argv.model, { backend });
    const policy = argv.policy ? createPolicy(model, argv.policy, {}, argv.seed) : null;
    const r = generate(model, { segments: argv.prompt ? [{ kind: 'text', text: argv.prompt }] : [] }, {
      maxNewTokens: argv['max-new'],
      temperature: argv.temperature,
      topP: argv['top-p'],
      seed: argv.seed,
      session: { policy, budget: argv.budget === undefined ? undefined : parseBudget(argv.budget, '--budget'), dtype: argv['kv-dtype'], seed: argv.seed },
    });
    // Decoding prompt and continuation together keeps the tokenizer's spacing rules intact.
    console.log(model.tokenizer.decode([...model.tokenizer.encode(argv.prompt), ...r.tokens]));
    const perSec = (n: number, ms: number): string => (ms > 0 ? (n / (ms / 1000)).toFixed(1) : '-');
    console.error(
      `[${backend.name}] prompt ${r.promptTokens} tok, prefill ${perSec(r.promptTokens, r.prefillMs)} tok/s; ` +
        `${r.tokens.length} generated (${r.stopReason}), decode ${perSec(r.decodeSteps, r.decodeMs)} tok/s; ` +
        `KV after prefill ${fmtBytes(r.bytesAfterPrefill.kvBytes)} (${policy ? `${policy.name} ${argv.budget}` : 'full cache'}), at end ${fmtBytes(r.bytesAtEnd.kvBytes)}`,
    );
  },
};
