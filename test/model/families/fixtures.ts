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

/**
 * Qwen2-VL-2B/7B-Instruct `chat_template` (tokenizer_config.json / chat_template.json of
 * huggingface.co/Qwen/Qwen2-VL-7B-Instruct; the same string is quoted in llama.cpp's
 * tests/test-chat-template.cpp as "Qwen2-VL-2B-Instruct (tokenizer_config.json)").
 */
export const QWEN2_VL_TEMPLATE =
  "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] == 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

/**
 * Qwen2.5-Omni-7B `chat_template` (chat_template.json of huggingface.co/Qwen/Qwen2.5-Omni-7B;
 * transformers quotes it in tests/models/qwen2_5_omni/test_processing_qwen2_5_omni.py,
 * prepare_processor_dict).
 */
export const OMNI_TEMPLATE =
  "{% set audio_count = namespace(value=0) %}{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}<|vision_bos|><|IMAGE|><|vision_eos|>{% elif content['type'] == 'audio' or 'audio' in content or 'audio_url' in content %}{% set audio_count.value = audio_count.value + 1 %}{% if add_audio_id %}Audio {{ audio_count.value }}: {% endif %}<|audio_bos|><|AUDIO|><|audio_eos|>{% elif content['type'] == 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_bos|><|VIDEO|><|vision_eos|>{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

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
