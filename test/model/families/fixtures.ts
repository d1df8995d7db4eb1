/**
 * Shared fixtures of the families tests: the published chat templates (verbatim) and a tiny
 * byte-level tokenizer with the Qwen special tokens at ids a tiny model's vocabulary holds.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { byteLevelTokenizer } from '../../../src/model/byte-tokenizer.js';
import { parseModelConfig } from '../../../src/model/config.js';
import { PRESETS } from '../../../src/model/presets.js';
import { loadTokenizer, type TextTokenizer } from '../../../src/model/tokenizer.js';
export { QWEN2_VL_TEMPLATE, OMNI_TEMPLATE } from '../../../src/model/families/published-templates.js';

/** Qwen2-VL and Omni special tokens, at ids 259.. (the tiny-qwen2-vl vocabulary holds 300). */
export const QWEN_SPECIALS = [
  '<|im_start|>',
  '<|im_end|>',
  '<|vision_start|>',
  '<|vision_end|>',
  '<|image_pad|>',
  '<|video_pad|>',
  '<|vision_bos|>',
  '<|vision_eos|>',
  '<|IMAGE|>',
  '<|VIDEO|>',
  '<|AUDIO|>',
  '<|audio_bos|>',
  '<|audio_eos|>',
].map((content, i) => ({ content, id: 259 + i }));

/** Writes tokenizer.json + tokenizer_config.json (with `extra` merged in) into dir. */
export function writeQwenTokenizer(dir: string, specials = QWEN_SPECIALS, extra: Record<string, unknown> = {}): void {
  mkdirSync(dir, { recursive: true });
  const files = byteLevelTokenizer([{ content: '<s>', id: 257 }, { content: '</s>', id: 258 }, ...specials], 0, { bos: '<s>', eos: '</s>' });
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(files['tokenizer.json']));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...files['tokenizer_config.json'], ...extra }));
}

/** A loaded tokenizer with the Qwen specials (written into dir). */
export function qwenTokenizer(dir: string, specials = QWEN_SPECIALS): TextTokenizer {
  writeQwenTokenizer(dir, specials);
  return loadTokenizer(dir, parseModelConfig({ ...PRESETS['tiny-qwen2-vl'] }));
}

/** Id of a special token in QWEN_SPECIALS. */
export function sid(token: string): number {
  const s = QWEN_SPECIALS.find((x) => x.content === token);
  if (!s) throw new Error(`no special ${token}`);
  return s.id;
}
