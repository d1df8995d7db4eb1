/**
 * Placeholder expansion on the published templates: media spans replace the placeholders in
 * order, with exact positions (get_rope_index), slot metadata (time, row, col, segment) and
 * the Omni audio-in-video interleaving; mismatches and missing tokens get clear errors.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ModalityCode } from '../../../src/cache/modality.js';
import { renderChatTemplate, type ChatMessage } from '../../../src/model/families/chat-template.js';
import { expandMedia, type ExpandContext } from '../../../src/model/families/expand-media.js';
import { familyFromConfig } from '../../../src/model/families/family.js';
import type { AudioMedia, VideoMedia } from '../../../src/model/families/media.js';
import type { EmbeddingSegment, PromptSegment, TokenSegment } from '../../../src/model/prompt.js';
import { OMNI_TEMPLATE, QWEN2_VL_TEMPLATE, QWEN_SPECIALS, qwenTokenizer, sid } from './fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'kvprism-expand-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const tok = qwenTokenizer(join(tmp, 'tok'));
const H = 4;
const vl = familyFromConfig({ model_type: 'qwen2_vl', vision_config: { spatial_merge_size: 2 } });
const omni = familyFromConfig({ model_type: 'qwen2_5_omni', thinker_config: { position_id_per_seconds: 25, seconds_per_chunk: 2 } });
const ctx = (family = vl, tokenizer = tok): ExpandContext => ({ family, tokenizer, hidden: H, templateSource: 'chat_template.json', tokenizerSource: 'tokenizer.json' });
const rows = (n: number, seed: number): Float32Array => Float32Array.from({ length: n * H }, (_, i) => seed + i);
const video = (t: number, h: number, w: number, extra: Partial<VideoMedia> = {}): VideoMedia => ({ kind: 'video', grid: { t, h, w }, secondsPerGrid: 1, embeddings: rows((t * h * w) / 4, 1000), ...extra });
const audio = (tokens: number, seed = 5000): AudioMedia => ({ kind: 'audio', tokens, secondsPerToken: 0.04, embeddings: rows(tokens, seed) });
const user = (...content: ChatMessage['content'] & object[]): ChatMessage[] => [{ role: 'user', content: content as never }];

/** [3] ids of token j of a segment. */
function ids3(seg: PromptSegment, j: number): number[] {
  const n = seg.kind === 'tokens' ? seg.ids.length : (seg as EmbeddingSegment).n;
  return [0, 1, 2].map((a) => seg.positions![a * n + j]!);
}

describe('expandMedia on Qwen2-VL', () => {
  const text = renderChatTemplate({ source: 't', text: QWEN2_VL_TEMPLATE, specialTokens: {} }, user({ type: 'video' }, { type: 'text', text: 'Why?' }), { addGenerationPrompt: true });

  it('the video placeholder becomes its 8 merged tokens with (t, h, w) ids from the span start', () => {
    const out = expandMedia(text, [video(2, 4, 4, { frameTimes: [0.5, 1.5] })], ctx());
    expect(out.segments.map((s) => s.kind)).toEqual(['tokens', 'embeddings', 'tokens']);
    const [before, span, after] = out.segments as [TokenSegment, EmbeddingSegment, TokenSegment];
    // The text around the span is the template text tokenized as HF's processor would, pads removed.
    expect([...before.ids, ...after.ids]).toEqual(tok.encode(text).filter((id) => id !== sid('<|video_pad|>')));
    expect(before.ids[before.ids.length - 1]).toBe(sid('<|vision_start|>'));
    expect(after.ids[0]).toBe(sid('<|vision_end|>'));
    const P = before.ids.length;
    expect(ids3(before, P - 1)).toEqual([P - 1, P - 1, P - 1]);
    expect(span).toMatchObject({ modality: 'video', n: 8, segment: 0 });
    expect(ids3(span, 0)).toEqual([P, P, P]);
    expect(ids3(span, 3)).toEqual([P, P + 1, P + 1]); // step 0, row 1, col 1
    expect(ids3(span, 6)).toEqual([P + 1, P + 1, P]); // step 1, row 1, col 0
    expect(ids3(after, 0)).toEqual([P + 2, P + 2, P + 2]);
    expect(out.ropeNext).toBe(P + 2 + after.ids.length);
    expect(out.n).toBe(P + 8 + after.ids.length);
    expect(Array.from(span.time!)).toEqual([0.5, 0.5, 0.5, 0.5, 1.5, 1.5, 1.5, 1.5]);
    expect(Array.from(span.row!)).toEqual([0, 0, 1, 1, 0, 0, 1, 1]);
    expect(Array.from(span.col!)).toEqual([0, 1, 0, 1, 0, 1, 0, 1]);
    expect(Array.from(span.data)).toEqual(Array.from(rows(8, 1000)));
  });

  it('media are matched per kind in order; segment = index in the media list', () => {
    const t2 = renderChatTemplate({ source: 't', text: QWEN2_VL_TEMPLATE, specialTokens: {} }, user({ type: 'image' }, { type: 'video' }));
    const image = { kind: 'image' as const, grid: { t: 1, h: 2, w: 4 }, embeddings: rows(2, 7) };
    const out = expandMedia(t2, [video(1, 2, 2), image], ctx());
    const spans = out.segments.filter((s): s is EmbeddingSegment => s.kind === 'embeddings');
    expect(spans.map((s) => [s.modality, s.n, s.segment])).toEqual([
      ['image', 2, 1],
      ['video', 1, 0],
    ]);
    expect(Number.isNaN(spans[0]!.time![0]!)).toBe(true);
  });

  it('count mismatches and media the family cannot take are errors naming the placeholder', () => {
    expect(() => expandMedia(text, [], ctx())).toThrow('chat_template.json: the rendered prompt has 1 <|video_pad|> placeholders but only 0 video input(s) were given');
    expect(() => expandMedia(text, [video(1, 2, 2), video(1, 2, 2)], ctx())).toThrow('media: 2 video input(s) were given but the rendered prompt (chat_template.json) has 1 <|video_pad|> placeholder(s)');
    expect(() => expandMedia(text, [video(1, 2, 2), audio(3)], ctx())).toThrow('has no audio placeholder (qwen2-vl takes no audio)');
    expect(() => expandMedia(text, [video(1, 2, 2, { audio: audio(3) })], ctx())).toThrow('media[0].audio: qwen2-vl cannot interleave');
  });

  it('bad media are errors naming the field', () => {
    expect(() => expandMedia(text, [{ ...video(1, 2, 2), embeddings: new Float32Array(3) }], ctx())).toThrow('media[0].embeddings: 3 values; expected tokens × hidden = 1 × 4 f32');
    expect(() => expandMedia(text, [video(1, 3, 2)], ctx())).toThrow('media[0].grid: 3×2 patches is not a multiple of the merge size 2');
    expect(() => expandMedia(text, [video(2, 2, 2, { frameTimes: [0] })], ctx())).toThrow('media[0].frameTimes has 1 entries; expected grid.t = 2');
    expect(() => expandMedia(text, [video(1, 2, 2, { secondsPerGrid: 0 })], ctx())).toThrow('media[0].secondsPerGrid must be a number > 0');
  });

  it('a template token the tokenizer lacks names the template and the tokenizer', () => {
    const lacking = qwenTokenizer(join(tmp, 'lacking'), QWEN_SPECIALS.filter((s) => s.content !== '<|vision_end|>'));
    expect(() => expandMedia(text, [video(1, 2, 2)], ctx(vl, lacking))).toThrow('chat_template.json: the template writes <|vision_end|>, which tokenizer.json does not hold as a token');
  });
});

describe('expandMedia on Qwen2.5-Omni', () => {
  const messages = user({ type: 'video' }, { type: 'audio' }, { type: 'text', text: 'Describe.' });
  const text = renderChatTemplate({ source: 't', text: OMNI_TEMPLATE, specialTokens: {} }, messages, { addGenerationPrompt: true });

  it('a video with its audio track interleaves 2 s chunks; a separate audio clip is its own span', () => {
    // Steps at 0, 1, 2 s (ids 0, 25, 50), merged 1×2; 60 audio tokens of the track; a 5-token clip after.
    const out = expandMedia(text, [video(3, 2, 4, { audio: audio(60) }), audio(5, 9000)], ctx(omni));
    const kinds = out.segments.map((s) => (s.kind === 'tokens' ? `tokens:${s.ids.length}` : `${(s as EmbeddingSegment).modality}:${(s as EmbeddingSegment).n}:${(s as EmbeddingSegment).segment}`));
    expect(kinds.slice(1, -1)).toEqual(['tokens:2', 'video:4:0', 'audio:50:0', 'video:2:0', 'audio:10:0', 'tokens:2', 'tokens:1', 'audio:5:1']);
    const seg = out.segments;
    const first = seg[0] as TokenSegment;
    expect(first.ids[first.ids.length - 1]).not.toBe(sid('<|vision_bos|>')); // moved into the bos pair
    const P = first.ids.length;
    expect((seg[1] as TokenSegment).ids).toEqual([sid('<|vision_bos|>'), sid('<|audio_bos|>')]);
    expect([ids3(seg[1]!, 0), ids3(seg[1]!, 1)]).toEqual([
      [P, P, P],
      [P, P, P],
    ]);
    const base = P + 1;
    expect(ids3(seg[2]!, 2)).toEqual([base + 25, base, base]);
    expect(ids3(seg[3]!, 49)).toEqual([base + 49, base + 49, base + 49]);
    expect(ids3(seg[4]!, 1)).toEqual([base + 50, base, base + 1]);
    // eos pair at 1 + the last chunk's max, then the clip's "<|audio_bos|>" and its tokens.
    const eos = seg[6] as TokenSegment;
    expect(eos.ids).toEqual([sid('<|audio_eos|>'), sid('<|vision_eos|>')]);
    expect([ids3(eos, 0), ids3(eos, 1)]).toEqual([
      [base + 60, base + 60, base + 60],
      [base + 60, base + 60, base + 60],
    ]);
    expect((seg[7] as TokenSegment).ids).toEqual([sid('<|audio_bos|>')]);
    expect(ids3(seg[7]!, 0)).toEqual([base + 61, base + 61, base + 61]);
    expect(ids3(seg[8]!, 0)).toEqual([base + 62, base + 62, base + 62]);
    // slot metadata: video step time, audio token time, the track shares the video's segment.
    const v = seg[4] as EmbeddingSegment;
    expect(Array.from(v.time!)).toEqual([2, 2]);
    expect(Array.from(v.col!)).toEqual([0, 1]);
    const a = seg[5] as EmbeddingSegment;
    expect(a.time![0]).toBeCloseTo(50 * 0.04, 5);
    expect(Array.from(a.data.subarray(0, H))).toEqual(Array.from(rows(60, 5000).subarray(50 * H, 51 * H)));
    expect(out.ropeNext).toBe(out.segments.reduce((m, s) => Math.max(m, ...Array.from(s.positions!)), 0) + 1);
    expect(ModalityCode[a.modality]).toBe(ModalityCode.audio);
  });

  it('without an audio track the video is a plain span at Omni time ids', () => {
    const out = expandMedia(text, [video(2, 2, 2, { secondsPerGrid: 2 / 3 }), audio(5)], ctx(omni));
    const v = out.segments.find((s): s is EmbeddingSegment => s.kind === 'embeddings' && s.modality === 'video')!;
    const st = ids3(v, 0)[0]!;
    expect(ids3(v, 1)).toEqual([st + 16, st, st]); // (1 × 0.6666667f × 25).long()
  });

  it('an audio track needs <|vision_bos|><|VIDEO|><|vision_eos|> around its placeholder', () => {
    expect(() => expandMedia('<|im_start|>user\n<|VIDEO|><|vision_eos|>', [video(1, 2, 2, { audio: audio(3) })], ctx(omni))).toThrow(
      'chat_template.json: video 0 has an audio track, so its placeholder must be written <|vision_bos|><|VIDEO|><|vision_eos|>',
    );
  });
});
