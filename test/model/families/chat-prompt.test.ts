/**
 * buildChatPrompt end to end on a random-weight Qwen2-VL-shaped model written by init-model,
 * with the published template and a tokenizer holding the Qwen special tokens: the exact ids,
 * slot metadata and embeddings reach the EmbeddedPrompt and the decoder runs on them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ModalityCode } from '../../../src/cache/modality.js';
import { Decoder } from '../../../src/model/decoder.js';
import { buildChatPrompt, userTurn } from '../../../src/model/families/chat-prompt.js';
import { familyFromConfig } from '../../../src/model/families/family.js';
import type { AudioMedia, VideoMedia } from '../../../src/model/families/media.js';
import { initModel } from '../../../src/model/init-model.js';
import { loadModel } from '../../../src/model/model.js';
import { OMNI_TEMPLATE, QWEN2_VL_TEMPLATE, sid, writeQwenTokenizer } from './fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'kvprism-chat-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const dir = join(tmp, 'vl');
initModel({ preset: 'tiny-qwen2-vl', out: dir, seed: 5 });
writeQwenTokenizer(dir);
writeFileSync(join(dir, 'chat_template.json'), JSON.stringify({ chat_template: QWEN2_VL_TEMPLATE }));
const model = loadModel(dir);
const H = model.config.hiddenSize;
const embeddings = (n: number): Float32Array => Float32Array.from({ length: n * H }, (_, i) => Math.sin(i) * 0.1);

describe('buildChatPrompt', () => {
  it('Qwen2-VL folder: template, expansion, exact ids and metadata flow into the EmbeddedPrompt; the decoder runs', () => {
    const video: VideoMedia = { kind: 'video', grid: { t: 3, h: 2, w: 4 }, secondsPerGrid: 1, embeddings: embeddings(6) };
    const { text, prompt, embedded: e } = buildChatPrompt(model, [{ role: 'user', content: [{ type: 'video' }, { type: 'text', text: 'Why?' }] }], [video]);
    expect(text.endsWith('<|im_start|>assistant\n')).toBe(true);
    const P = Array.from(e.ids).indexOf(sid('<|vision_start|>')) + 1;
    expect(e.ids[P]).toBe(-1);
    expect(e.ids[P + 6]).toBe(sid('<|vision_end|>'));
    // ids: [3][n] from the segments' positions, in order; video step k row 0 col c: (P + k, P, P + c).
    const n = e.n;
    const at = (i: number): number[] => [e.ropePos[i]!, e.ropePos[n + i]!, e.ropePos[2 * n + i]!];
    expect(at(P + 3)).toEqual([P + 1, P, P + 1]);
    expect(at(P + 5)).toEqual([P + 2, P, P + 1]);
    expect(at(P + 6)).toEqual([P + 3, P + 3, P + 3]); // 1 + the video's largest id (its t: 3 steps > 2 columns)
    expect(e.ropeNext).toBe(P + 3 + (n - P - 6));
    expect(prompt.segments.every((s) => s.positions !== undefined)).toBe(true);
    expect(e.meta.modality[P]).toBe(ModalityCode.video);
    expect(Array.from(e.meta.time.subarray(P, P + 6))).toEqual([0, 0, 1, 1, 2, 2]);
    expect(Array.from(e.meta.col.subarray(P, P + 6))).toEqual([0, 1, 0, 1, 0, 1]);
    expect(e.meta.segment[P]).toBe(0);
    expect(e.meta.segment[P - 1]).toBe(-1);
    expect(Array.from(e.x.subarray(P * H, (P + 6) * H))).toEqual(Array.from(video.embeddings));
    // transformers ≥ 5 rules: the text after the span starts at P + max(1, 2) instead.
    const v5 = buildChatPrompt(model, [{ role: 'user', content: [{ type: 'video' }, { type: 'text', text: 'Why?' }] }], [video], { ropeIndexRules: 'transformers-5' }).embedded;
    expect(v5.ropePos[P + 6]).toBe(P + 2);
    expect(v5.ropeNext).toBe(P + 2 + (n - P - 6));
    const decoder = new Decoder(model);
    const seq = decoder.open();
    const logits = decoder.prefill(seq, e);
    expect(logits.every(Number.isFinite)).toBe(true);
    expect(seq.ropeNext).toBe(e.ropeNext);
  });

  it('an Omni video with its audio track on the same backbone (family and template given): interleaved slots', () => {
    const omni = familyFromConfig({ model_type: 'qwen2_5_omni' });
    const track: AudioMedia = { kind: 'audio', tokens: 60, secondsPerToken: 0.04, embeddings: embeddings(60) };
    const video: VideoMedia = { kind: 'video', grid: { t: 3, h: 2, w: 2 }, secondsPerGrid: 1, embeddings: embeddings(3), audio: track };
    const { embedded: e } = buildChatPrompt(model, [{ role: 'user', content: [{ type: 'video' }] }], [video], {
      family: omni,
      template: { source: 'omni', text: OMNI_TEMPLATE, specialTokens: {} },
    });
    const P = Array.from(e.ids).indexOf(sid('<|audio_bos|>')) + 1;
    const kinds = Array.from(e.meta.modality.subarray(P, P + 63));
    // steps at 0 and 25 ids (chunk 0), 50 audio tokens, the step at 50 (chunk 1), 10 audio tokens.
    expect(kinds).toEqual([2, 2, ...Array(50).fill(3), 2, ...Array(10).fill(3)]);
    expect(e.ids[P + 63]).toBe(sid('<|audio_eos|>'));
    expect(e.ropePos[P + 1]).toBe(e.ropePos[P]! + 25);
    expect(e.meta.time[P + 52]).toBe(2);
    expect(Array.from(e.meta.segment.subarray(P, P + 63)).every((s) => s === 0)).toBe(true);
  });

  it('userTurn: one part per medium in order, then the text; a video with its track is one part', () => {
    const track: AudioMedia = { kind: 'audio', tokens: 1, secondsPerToken: 0.04, embeddings: embeddings(1) };
    const video: VideoMedia = { kind: 'video', grid: { t: 1, h: 2, w: 2 }, secondsPerGrid: 1, embeddings: embeddings(1), audio: track };
    expect(userTurn('Why?', [video, track])).toEqual([{ role: 'user', content: [{ type: 'video' }, { type: 'audio' }, { type: 'text', text: 'Why?' }] }]);
    const { embedded } = buildChatPrompt(model, userTurn('Why?', [{ ...video, audio: undefined }]), [{ ...video, audio: undefined }]);
    expect(Array.from(embedded.meta.modality).filter((m) => m === ModalityCode.video)).toHaveLength(1);
  });

  it('a folder whose family has no mrope, or no template, is an error naming the file', () => {
    const plain = join(tmp, 'plain');
    initModel({ preset: 'tiny-qwen2', out: plain });
    const m = loadModel(plain);
    expect(() => buildChatPrompt(m, [{ role: 'user', content: 'hi' }])).toThrow(`${plain}: no chat template`);
    expect(() => buildChatPrompt(m, [{ role: 'user', content: 'hi' }], [], { template: { source: 't', text: 'x', specialTokens: {} } })).toThrow(
      `${join(plain, 'config.json')}: model_type "qwen2" has no multimodal family`,
    );
    const vl = familyFromConfig({ model_type: 'qwen2_vl' });
    expect(() => buildChatPrompt(m, [{ role: 'user', content: 'hi' }], [], { family: vl, template: { source: 't', text: 'x', specialTokens: {} } })).toThrow(
      `${join(plain, 'config.json')}: rope_scaling has no mrope_section, but qwen2-vl places media with 3-axis (mrope) positions`,
    );
  });
});
