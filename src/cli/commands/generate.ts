/**
 * `kvprism generate --model DIR --prompt TEXT [--video F [--audio-from-video]] [--audio F] [--image F]
 *  [--policy NAME --budget B] [--max-new N] [--backend ...]`
 *
 * Text-only: the prompt is tokenized as is. With media: each file is read as the folder's
 * preprocessor_config.json says, encoded by the model's own towers, and framed by the folder's
 * chat template (one user turn: the media in the order given, then the text), with the
 * family's exact position ids. Prints the generated text; reports tower time and the KV bytes
 * each modality holds after prefill (compressed when a policy is given).
 */
import type { CommandModule } from 'yargs';
import { parseBudget } from '../../cache/budget.js';
import { MODALITIES } from '../../cache/modality.js';
import { fmtBytes } from '../../model/describe.js';
import { buildChatPrompt, userTurn } from '../../model/families/chat-prompt.js';
import { encodeMedia, type MediaRequest } from '../../model/families/encode-media.js';
import { generate } from '../../model/generate.js';
import { loadModel } from '../../model/model.js';
import { createPolicy } from '../../model/policy-for-model.js';
import type { Prompt } from '../../model/prompt.js';
import { resolveBackend } from '../../runner/backend-choice.js';
import { BACKENDS, type BackendChoice } from '../../runner/config-schema.js';

interface GenerateArgs {
  model: string;
  prompt: string;
  video?: string[];
  audio?: string[];
  image?: string[];
  'audio-from-video': boolean;
  fps?: number;
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

/** Media flags in the order the user gave them (yargs groups repeated flags by name). */
export function mediaRequestsFromArgv(argv: readonly string[], audioFromVideo: boolean): MediaRequest[] {
  const out: MediaRequest[] = [];
  for (let i = 0; i < argv.length; i++) {
    const m = /^--(video|audio|image)(?:=(.*))?$/.exec(argv[i]!);
    if (!m) continue;
    const file = m[2] ?? argv[++i];
    if (file === undefined || file.startsWith('--')) throw new Error(`--${m[1]} needs a file path`);
    const kind = m[1] as MediaRequest['kind'];
    out.push(kind === 'video' ? { kind, file, audioFromVideo } : { kind, file });
  }
  return out;
}

export const generateCommand: CommandModule<object, GenerateArgs> = {
  command: 'generate',
  describe: 'Generate text from a HF model folder (text, video, audio, images), with the KV cache compressed by a policy',
  builder: (y) =>
    y
      .option('model', { type: 'string', demandOption: true, describe: 'HF model folder (config.json, model.safetensors, tokenizer; for media also preprocessor_config.json and a chat template)' })
      .option('prompt', { type: 'string', default: '', describe: 'Prompt text (with media: the user turn\'s text, framed by the chat template)' })
      .option('video', { type: 'string', array: true, describe: 'Video file(s) (mp4, webm, mkv, …), read by the vision tower' })
      .option('audio', { type: 'string', array: true, describe: 'Audio file(s) (wav, flac, mp3, or a video\'s audio track), read by the audio tower (Qwen2.5-Omni)' })
      .option('image', { type: 'string', array: true, describe: 'Image file(s) (png, jpg, …)' })
      .option('audio-from-video', { type: 'boolean', default: false, describe: 'Each --video also brings its own audio track, interleaved with it in time (Omni use_audio_in_video)' })
      .option('fps', { type: 'number', describe: 'Video frames sampled per second (default: the folder\'s processor, 2.0)' })
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
    if (argv['audio-from-video'] && !argv.video?.length) throw new Error('--audio-from-video needs a --video');
    if (argv.fps !== undefined && !(argv.fps > 0)) throw new Error(`--fps must be a number > 0; got ${argv.fps}`);
    const backend = await resolveBackend(argv.backend, argv.threads);
    const model = loadModel(argv.model, { backend });
    const requests = mediaRequestsFromArgv(process.argv, argv['audio-from-video']);
    let prompt: Prompt = { segments: argv.prompt ? [{ kind: 'text', text: argv.prompt }] : [] };
    let mediaLine = '';
    if (requests.length > 0) {
      const encoded = await encodeMedia(model, requests, { video: argv.fps ? { sampling: { fps: argv.fps } } : undefined });
      prompt = buildChatPrompt(model, userTurn(argv.prompt, encoded.inputs), encoded.inputs).prompt;
      mediaLine = `media: read ${encoded.readMs.toFixed(0)} ms, vision tower ${encoded.visionMs.toFixed(0)} ms, audio tower ${encoded.audioMs.toFixed(0)} ms\n`;
    }
    const policy = argv.policy ? createPolicy(model, argv.policy, {}, argv.seed) : null;
    const r = generate(model, prompt, {
      maxNewTokens: argv['max-new'],
      temperature: argv.temperature,
      topP: argv['top-p'],
      seed: argv.seed,
      session: { policy, budget: argv.budget === undefined ? undefined : parseBudget(argv.budget, '--budget'), dtype: argv['kv-dtype'], seed: argv.seed },
    });
    // Text-only: decode prompt and continuation together (keeps the tokenizer's spacing rules);
    // with media the prompt is a chat frame, so print the answer alone.
    console.log(requests.length > 0 ? r.text : model.tokenizer.decode([...model.tokenizer.encode(argv.prompt), ...r.tokens]));
    const perSec = (n: number, ms: number): string => (ms > 0 ? (n / (ms / 1000)).toFixed(1) : '-');
    const byModality = MODALITIES.filter((m) => r.kvByModalityAfterPrefill[m].slots > 0)
      .map((m) => `${m} ${fmtBytes(r.kvByModalityAfterPrefill[m].kvBytes)}`)
      .join(', ');
    console.error(
      mediaLine +
        `[${backend.name}] prompt ${r.promptTokens} tok, prefill ${perSec(r.promptTokens, r.prefillMs)} tok/s; ` +
        `${r.tokens.length} generated (${r.stopReason}), decode ${perSec(r.decodeSteps, r.decodeMs)} tok/s; ` +
        `KV after prefill ${fmtBytes(r.bytesAfterPrefill.kvBytes)} (${policy ? `${policy.name} ${argv.budget}` : 'full cache'}: ${byModality}), at end ${fmtBytes(r.bytesAtEnd.kvBytes)}`,
    );
  },
};
