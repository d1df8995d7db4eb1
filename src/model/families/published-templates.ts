/**
 * The chat templates of the published checkpoints, verbatim, for folders kvprism writes itself
 * (`kvprism init-model` presets of Qwen2-VL, Qwen2.5-VL and Qwen2.5-Omni): a tiny random folder
 * then renders prompts exactly as the real one does. Real folders always use their own
 * template (chat-template.ts); these strings are only written, never preferred.
 * Qwen2.5-VL-7B-Instruct ships the same template as Qwen2-VL-7B-Instruct.
 */

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
