/**
 * A real AV-LLM folder plus a real media file, end to end: a tiny random Qwen2.5-Omni folder
 * (init-model: every tower, the published chat template, a preprocessor_config.json) and an
 * mp4 with an audio track made by ffmpeg → encodeMedia (media readers + towers) →
 * buildChatPrompt (template, placeholders, exact ids) → generate, full cache and AccKV 20 %.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODALITIES } from '../../src/cache/modality.js';
import { buildChatPrompt, userTurn } from '../../src/model/families/chat-prompt.js';
import { encodeMedia } from '../../src/model/families/encode-media.js';
import { generate } from '../../src/model/generate.js';
import { initModel } from '../../src/model/init-model.js';
import { loadModel, type Model } from '../../src/model/model.js';
import { createPolicy } from '../../src/model/policy-for-model.js';
import { makeMedia, sine, testPattern } from './media/make-media.js';

const bin = fileURLToPath(new URL('../../bin/kvprism.js', import.meta.url));
let dir: string;
let omni: Model;
let clip: string;
let silent: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kvprism-av-'));
  initModel({ preset: 'tiny-qwen2.5-omni', out: join(dir, 'omni') });
  initModel({ preset: 'tiny-qwen2.5-vl', out: join(dir, 'vl') });
  omni = loadModel(join(dir, 'omni'));
  clip = makeMedia(dir, 'clip.mp4', [...testPattern(96, 64, 10, 3), ...sine(440, 44100, 3), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest']);
  silent = makeMedia(dir, 'silent.mp4', [...testPattern(64, 64, 10, 2), '-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a tiny Qwen2.5-Omni folder and an mp4 with an audio track', () => {
  it('prefills video and audio-in-video tokens; AccKV 20 % keeps a physically smaller cache', async () => {
    const media = await encodeMedia(omni, [{ kind: 'video', file: clip, audioFromVideo: true }]);
    const [video] = media.inputs;
    expect(video?.kind).toBe('video');
    if (video?.kind !== 'video') return;
    // 3 s at 2 fps = 6 frames → 3 temporal steps; 96x64 grows to qwen-vl-utils' video minimum
    // (128 merged patches) as 280x392 → 20×28 patches → 10×14 merged per step.
    expect(video.grid).toEqual({ t: 3, h: 20, w: 28 });
    expect(video.embeddings.length).toBe(3 * 10 * 14 * omni.config.hiddenSize);
    // 3 s of 16 kHz audio = 300 mel frames → 150 after the stride-2 conv → 75 tokens of 40 ms.
    expect(video.audio?.tokens).toBe(75);
    expect(video.audio?.secondsPerToken).toBeCloseTo(0.04, 9);
    const prompt = buildChatPrompt(omni, userTurn('What do you hear?', media.inputs), media.inputs).prompt;
    const full = generate(omni, prompt, { maxNewTokens: 3 });
    const by = full.kvByModalityAfterPrefill;
    const layersHeads = omni.config.numLayers * omni.config.kvHeads;
    expect(by.video.slots).toBe(420 * layersHeads);
    expect(by.audio.slots).toBe(75 * layersHeads);
    expect(MODALITIES.reduce((s, m) => s + by[m].kvBytes, 0)).toBeCloseTo(full.bytesAfterPrefill.kvBytes, 6);
    const acc = generate(omni, prompt, { maxNewTokens: 3, session: { policy: createPolicy(omni, 'acckv'), budget: { ratio: 0.2 } } });
    expect(acc.bytesAfterPrefill.kvBytes).toBeLessThan(0.35 * full.bytesAfterPrefill.kvBytes);
    expect(acc.kvByModalityAfterPrefill.video.slots + acc.kvByModalityAfterPrefill.audio.slots).toBeLessThan(by.video.slots + by.audio.slots);
  }, 60_000);

  it('kvprism generate prints the answer and the KV bytes per modality, full and compressed', () => {
    const run = (...extra: string[]) =>
      spawnSync(process.execPath, [bin, 'generate', '--model', join(dir, 'omni'), '--video', clip, '--audio-from-video', '--prompt', 'What do you hear?', '--max-new', '2', ...extra], { encoding: 'utf8', timeout: 120_000 });
    const full = run();
    expect(full.status, full.stderr).toBe(0);
    expect(full.stderr).toMatch(/vision tower \d+ ms, audio tower \d+ ms/);
    expect(full.stderr).toMatch(/full cache: text [\d.]+ \w*B, video [\d.]+ \w*B, audio [\d.]+ \w*B/);
    const acc = run('--policy', 'acckv', '--budget', '20%');
    expect(acc.status, acc.stderr).toBe(0);
    expect(acc.stderr).toMatch(/acckv 20%: text/);
  }, 120_000);

  it('bad media and folders get a clear error naming the file', async () => {
    await expect(encodeMedia(omni, [{ kind: 'video', file: join(dir, 'missing.mp4') }])).rejects.toThrow(/missing\.mp4: file not found/);
    await expect(encodeMedia(omni, [{ kind: 'video', file: silent, audioFromVideo: true }])).rejects.toThrow(/silent\.mp4: .*audio/);
    const vl = loadModel(join(dir, 'vl'));
    await expect(encodeMedia(vl, [{ kind: 'audio', file: clip }])).rejects.toThrow(/clip\.mp4: cannot read audio: .*vl[/\\]config\.json declares no audio tower/);
  }, 60_000);
});
