/**
 * `npm run bench -- av [flags]`: a real-shape AV-LLM on a real clip, end to end — a random
 * Qwen2.5-Omni thinker folder at published shape (`init-model`, bf16, `--layers` decoder
 * layers and `--tower-layers` tower blocks), an mp4 with an audio track made by ffmpeg
 * (`--seconds`, 640×360 test pattern + a tone), read, encoded by the towers, framed by the chat
 * template with the audio track interleaved (use_audio_in_video), prefilled with the full cache
 * and with AccKV at 20 %. Prints tokens per modality, read and tower ms, LLM prefill tok/s, KV
 * bytes per modality full vs 20 %, and peak RSS. Timings on a shared machine are indicative;
 * the load average is printed beside them.
 *
 * Flags: --preset qwen2.5-omni-7b-thinker|qwen2.5-omni-3b-thinker, --seconds S (30),
 * --layers N (2), --tower-layers N (2; the full depth is 32), --policy NAME (acckv),
 * --budget B (20%), --backend auto|ts|cpu, --threads N.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseBudget } from '../src/cache/budget.js';
import { MODALITIES } from '../src/cache/modality.js';
import { fmtBytes } from '../src/model/describe.js';
import { buildChatPrompt, userTurn } from '../src/model/families/chat-prompt.js';
import { encodeMedia } from '../src/model/families/encode-media.js';
import { generate, type GenerateResult } from '../src/model/generate.js';
import { initModel } from '../src/model/init-model.js';
import { ffmpegPath } from '../src/model/media/ffmpeg.js';
import { loadModel } from '../src/model/model.js';
import { createPolicy } from '../src/model/policy-for-model.js';
import { resolveBackend } from '../src/runner/backend-choice.js';
import type { BackendChoice } from '../src/runner/config-schema.js';
import { fmt } from './_timing.js';

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      preset: { type: 'string', default: 'qwen2.5-omni-7b-thinker' },
      seconds: { type: 'string', default: '30' },
      layers: { type: 'string', default: '2' },
      'tower-layers': { type: 'string', default: '2' },
      policy: { type: 'string', default: 'acckv' },
      budget: { type: 'string', default: '20%' },
      backend: { type: 'string', default: 'auto' },
      threads: { type: 'string', default: '0' },
    },
  });
  const preset = values.preset as 'qwen2.5-omni-7b-thinker' | 'qwen2.5-omni-3b-thinker';
  if (!['qwen2.5-omni-7b-thinker', 'qwen2.5-omni-3b-thinker'].includes(preset)) throw new Error(`--preset must be qwen2.5-omni-7b-thinker or qwen2.5-omni-3b-thinker; got ${preset}`);
  const seconds = Number(values.seconds);
  if (!(seconds > 0)) throw new Error(`--seconds must be > 0; got ${values.seconds}`);
  const dir = mkdtempSync(join(tmpdir(), 'kvprism-bench-av-'));
  try {
    let t0 = performance.now();
    initModel({ preset, out: join(dir, 'model'), dtype: 'bf16', layers: Number(values.layers), towerLayers: Number(values['tower-layers']) });
    console.log(`${preset}: ${values.layers} decoder layers, ${values['tower-layers']} tower blocks, bf16 random weights written in ${fmt((performance.now() - t0) / 1000, 1)} s`);
    const clip = join(dir, 'clip.mp4');
    const ff = spawnSync(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=640x360:rate=25:duration=${seconds}`, '-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', clip], { encoding: 'utf8' });
    if (ff.status !== 0) throw new Error(`ffmpeg could not make the clip: ${ff.stderr}`);
    const backend = await resolveBackend(values.backend as BackendChoice, Number(values.threads));
    const model = loadModel(join(dir, 'model'), { backend });
    t0 = performance.now();
    const media = await encodeMedia(model, [{ kind: 'video', file: clip, audioFromVideo: true }]);
    const encodeMs = performance.now() - t0;
    const prompt = buildChatPrompt(model, userTurn('What happens in this clip, and what do you hear?', media.inputs), media.inputs).prompt;
    console.log(`clip ${seconds} s 640x360 + tone: read ${fmt(media.readMs, 0)} ms, vision tower ${fmt(media.visionMs, 0)} ms, audio tower ${fmt(media.audioMs, 0)} ms (${fmt(encodeMs, 0)} ms in all) [${backend.name}]`);
    const full = generate(model, prompt, { maxNewTokens: 2 });
    const policy = createPolicy(model, values.policy!);
    const compressed = generate(model, prompt, { maxNewTokens: 2, session: { policy, budget: parseBudget(values.budget!, '--budget') } });
    const slots = (r: GenerateResult, m: (typeof MODALITIES)[number]) => r.kvByModalityAfterPrefill[m].slots / (model.config.numLayers * model.config.kvHeads);
    console.log(`tokens       ${MODALITIES.filter((m) => slots(full, m) > 0).map((m) => `${m} ${slots(full, m)}`).join(', ')} (prompt ${full.promptTokens})`);
    console.log(`prefill      ${fmt(full.promptTokens / (full.prefillMs / 1000), 1)} tok/s full cache, ${fmt(compressed.promptTokens / (compressed.prefillMs / 1000), 1)} tok/s with ${values.policy} ${values.budget} (compression included)`);
    for (const [label, r] of [['full cache', full], [`${values.policy} ${values.budget}`, compressed]] as const) {
      const by = MODALITIES.filter((m) => r.kvByModalityAfterPrefill[m].slots > 0).map((m) => `${m} ${fmtBytes(r.kvByModalityAfterPrefill[m].kvBytes)}`);
      console.log(`KV ${label.padEnd(12)} ${fmtBytes(r.bytesAfterPrefill.kvBytes)} (${by.join(', ')})`);
    }
    console.log(`KV ratio     ${fmt(compressed.bytesAfterPrefill.kvBytes / full.bytesAfterPrefill.kvBytes, 3)} of the full cache`);
    console.log(`load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${cpus().length} cores; peak RSS ${fmtBytes(process.resourceUsage().maxRSS * 1024)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
