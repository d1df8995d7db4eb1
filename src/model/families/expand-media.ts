/**
 * Rendered chat text + media → prompt segments with exact RoPE ids and slot metadata.
 *
 * Each media placeholder the template wrote (`<|video_pad|>`, `<|IMAGE|>`, `<|AUDIO|>` …)
 * takes the next medium of its kind, in order, and becomes the span of tower tokens, as the
 * transformers processors expand it. A video that carries its audio track (Omni
 * use_audio_in_video) must be written `<|vision_bos|><|VIDEO|><|vision_eos|>` and becomes
 * `<|vision_bos|><|audio_bos|>` + interleaved chunks + `<|audio_eos|><|vision_eos|>`. Text
 * between placeholders is tokenized as it stands (the tokenizer splits on special tokens, so
 * this equals tokenizing the expanded text in one piece). Every segment gets explicit
 * positions from get_rope_index's rules (mrope-ids.ts, audio-in-video.ts); media index i is
 * the slot `segment` (a video's audio track shares its video's).
 */
import type { Modality } from '../../cache/modality.js';
import type { PromptSegment } from '../prompt.js';
import type { TextTokenizer } from '../tokenizer.js';
import { AvSlot, writeAudioInVideo } from './audio-in-video.js';
import type { Family } from './family.js';
import { validateMedia, type AudioMedia, type ImageMedia, type MediaInput, type VideoMedia } from './media.js';
import { MropeIdWriter, temporalIds, visionRelativeIds } from './mrope-ids.js';
import { checkSpecialTokens, requireTokenId } from './special-tokens.js';
import { audioSlotMeta, visionSlotMeta, type SlotMeta } from './slot-meta.js';

export interface ExpandContext {
  family: Family;
  tokenizer: TextTokenizer;
  hidden: number;
  /** File names for errors. */
  templateSource: string;
  tokenizerSource: string;
}

export interface ExpandedPrompt {
  /** Segments in sequence order, each with explicit [3][n] positions. */
  segments: PromptSegment[];
  /** Tokens in the prompt. */
  n: number;
  /** RoPE position of the token after the prompt (1 + the largest id). */
  ropeNext: number;
}

type Item =
  | { kind: 'text'; text: string }
  | { kind: 'vision'; media: ImageMedia | VideoMedia; index: number }
  | { kind: 'audio'; media: AudioMedia; index: number }
  | { kind: 'av'; media: VideoMedia; audio: AudioMedia; index: number };

/** A segment and the sequence index of its first token. */
type Placed = { seg: PromptSegment; start: number };

export function expandMedia(text: string, media: readonly MediaInput[], ctx: ExpandContext): ExpandedPrompt {
  checkSpecialTokens(ctx.tokenizer, text, ctx.templateSource, ctx.tokenizerSource);
  media.forEach((m, i) => validateMedia(m, ctx.hidden, ctx.family.mergeSize, `media[${i}]`));
  const items = matchPlaceholders(text, media, ctx);
  const writer = new MropeIdWriter();
  const placed: Placed[] = [];
  for (const item of items) {
    if (item.kind === 'text') {
      const ids = ctx.tokenizer.encode(item.text);
      placed.push({ seg: { kind: 'tokens', ids }, start: writer.length });
      writer.text(ids.length);
    } else if (item.kind === 'audio') {
      placed.push({ seg: span('audio', item.media.embeddings, audioSlotMeta(item.media), item.index, 0, item.media.tokens, ctx.hidden), start: writer.length });
      writer.text(item.media.tokens);
    } else if (item.kind === 'vision') {
      const m = item.media;
      const meta = visionSlotMeta(m, ctx.family.mergeSize);
      placed.push({ seg: span(m.kind, m.embeddings, meta, item.index, 0, meta.time.length, ctx.hidden), start: writer.length });
      writer.piece(visionIds(m, ctx.family), writer.next, nextAfterVision(m, ctx.family, writer.next));
    } else {
      placeAudioInVideo(item, ctx, writer, placed);
    }
  }
  const ids = writer.ids();
  const n = writer.length;
  const segments = placed.map(({ seg, start }, k) => {
    const end = k + 1 < placed.length ? placed[k + 1]!.start : n;
    const positions = new Int32Array(3 * (end - start));
    for (let a = 0; a < 3; a++) positions.set(ids.subarray(a * n + start, a * n + end), a * (end - start));
    return { ...seg, positions };
  });
  return { segments, n, ropeNext: writer.after };
}

/** Splits the text at the family's placeholders and pairs each with the next medium of its kind. */
function matchPlaceholders(text: string, media: readonly MediaInput[], ctx: ExpandContext): Item[] {
  const t = ctx.family.tokens;
  const kinds = new Map<string, MediaInput['kind']>([[t.image, 'image'], [t.video, 'video'], ...(t.audio ? ([[t.audio, 'audio']] as const) : [])]);
  const queues: Record<MediaInput['kind'], number[]> = { image: [], video: [], audio: [] };
  media.forEach((m, i) => queues[m.kind].push(i));
  const used: Record<MediaInput['kind'], number> = { image: 0, video: 0, audio: 0 };
  const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const parts = text.split(new RegExp(`(${[...kinds.keys()].map(escape).join('|')})`));
  const items: Item[] = [];
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p]!;
    const kind = p % 2 === 1 ? kinds.get(part)! : null;
    if (kind === null) {
      if (part !== '') items.push({ kind: 'text', text: part });
      continue;
    }
    const index = queues[kind][used[kind]++];
    if (index === undefined) throw new Error(`${ctx.templateSource}: the rendered prompt has ${used[kind]} ${part} placeholders but only ${queues[kind].length} ${kind} input(s) were given`);
    const m = media[index]!;
    if (m.kind === 'video' && m.audio) {
      items.push(audioInVideoItem(items, parts, p, m, index, ctx));
      parts[p + 1] = parts[p + 1]!.slice(t.visionEnd.length);
    } else if (m.kind === 'audio') items.push({ kind: 'audio', media: m, index });
    else items.push({ kind: 'vision', media: m as ImageMedia | VideoMedia, index });
  }
  for (const kind of ['image', 'video', 'audio'] as const) {
    if (used[kind] < queues[kind].length) {
      const token = kind === 'audio' ? t.audio : t[kind];
      const written = token ? `${used[kind]} ${token} placeholder(s)` : `no ${kind} placeholder (${ctx.family.name} takes no ${kind})`;
      throw new Error(`media: ${queues[kind].length} ${kind} input(s) were given but the rendered prompt (${ctx.templateSource}) has ${written}`);
    }
  }
  return items;
}

/** Checks `<|vision_bos|><|VIDEO|><|vision_eos|>` around placeholder p and strips the bos from the text before. */
function audioInVideoItem(items: Item[], parts: string[], p: number, m: VideoMedia, index: number, ctx: ExpandContext): Item {
  const t = ctx.family.tokens;
  if (!t.audioStart || !t.audioEnd) throw new Error(`media[${index}].audio: ${ctx.family.name} cannot interleave a video's audio track (use_audio_in_video is Qwen2.5-Omni's)`);
  const before = items[items.length - 1];
  if (before?.kind !== 'text' || !before.text.endsWith(t.visionStart) || !parts[p + 1]!.startsWith(t.visionEnd)) {
    throw new Error(`${ctx.templateSource}: video ${index} has an audio track, so its placeholder must be written ${t.visionStart}${t.video}${t.visionEnd}`);
  }
  before.text = before.text.slice(0, -t.visionStart.length);
  if (before.text === '') items.pop();
  return { kind: 'av', media: m, audio: m.audio!, index };
}

/** The bos pair, the interleaved video / audio runs and the eos pair of a video with its track. */
function placeAudioInVideo(item: Extract<Item, { kind: 'av' }>, ctx: ExpandContext, writer: MropeIdWriter, placed: Placed[]): void {
  const { family: f, tokenizer: tok, tokenizerSource: src } = ctx;
  const id = (s: string): number => requireTokenId(tok, s, src, 'an Omni video with its audio track needs');
  const t = f.tokens;
  const v = item.media;
  const rows = v.grid.h / f.mergeSize;
  const cols = v.grid.w / f.mergeSize;
  const videoTimes = new Float64Array(v.grid.t * rows * cols);
  for (let i = 0; i < videoTimes.length; i++) videoTimes[i] = Math.floor(i / (rows * cols)) * v.secondsPerGrid * f.positionsPerSecond!;
  placed.push({ seg: { kind: 'tokens', ids: [id(t.visionStart), id(t.audioStart!)] }, start: writer.length });
  const order = writeAudioInVideo(writer, {
    videoIds: visionIds(v, f),
    videoTimes,
    audioTokens: item.audio.tokens,
    tokensPerChunk: Math.trunc(f.positionsPerSecond! * f.secondsPerChunk!),
  });
  const vMeta = visionSlotMeta(v, f.mergeSize);
  const aMeta = audioSlotMeta(item.audio);
  const start = writer.length - 2 - order.length;
  const next = { video: 0, audio: 0 };
  for (let s = 0; s < order.length; ) {
    let e = s;
    while (e < order.length && order[e] === order[s]) e++;
    const isVideo = order[s] === AvSlot.video;
    const from = isVideo ? next.video : next.audio;
    const seg = isVideo ? span('video', v.embeddings, vMeta, item.index, from, from + e - s, ctx.hidden) : span('audio', item.audio.embeddings, aMeta, item.index, from, from + e - s, ctx.hidden);
    placed.push({ seg, start: start + s });
    next[isVideo ? 'video' : 'audio'] += e - s;
    s = e;
  }
  placed.push({ seg: { kind: 'tokens', ids: [id(t.audioEnd!), id(t.visionEnd)] }, start: writer.length - 2 });
}

/** transformers ≥ 5 Qwen2-VL / 2.5-VL: text after a span starts at its start + max(rows, cols); else undefined (1 + its largest id). */
function nextAfterVision(m: ImageMedia | VideoMedia, f: Family, start: number): number | undefined {
  if (f.ropeIndexRules !== 'transformers-5' || f.name === 'qwen2.5-omni') return undefined;
  return start + Math.max(m.grid.h, m.grid.w) / f.mergeSize;
}

function visionIds(m: ImageMedia | VideoMedia, f: Family): Int32Array {
  const tIds = temporalIds(f, m.grid.t, m.kind === 'video' ? m.secondsPerGrid : null);
  return visionRelativeIds(tIds, m.grid.h / f.mergeSize, m.grid.w / f.mergeSize);
}

/** Tokens [from, to) of one medium as an embeddings segment. */
function span(modality: Exclude<Modality, 'text'>, data: Float32Array, meta: SlotMeta, segment: number, from: number, to: number, hidden: number): PromptSegment {
  return {
    kind: 'embeddings',
    modality,
    n: to - from,
    segment,
    data: data.subarray(from * hidden, to * hidden),
    time: meta.time.subarray(from, to),
    row: meta.row.subarray(from, to),
    col: meta.col.subarray(from, to),
  };
}
