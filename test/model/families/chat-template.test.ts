/**
 * Chat templates: the published Qwen2-VL and Qwen2.5-Omni templates render as transformers'
 * apply_chat_template renders them; the folder's template is found where AutoProcessor looks;
 * bad templates and messages get errors naming the file or the field.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadChatTemplate, renderChatTemplate, type ChatMessage, type ChatTemplate } from '../../../src/model/families/chat-template.js';
import { OMNI_TEMPLATE, QWEN2_VL_TEMPLATE } from './fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'kvprism-template-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const inline = (text: string): ChatTemplate => ({ source: 'inline', text, specialTokens: {} });

describe('renderChatTemplate', () => {
  it('Qwen2-VL: default system turn, the video placeholder between vision markers, generation prompt', () => {
    const messages: ChatMessage[] = [{ role: 'user', content: [{ type: 'video', video: 'clip.mp4' }, { type: 'text', text: 'What happens?' }] }];
    expect(renderChatTemplate(inline(QWEN2_VL_TEMPLATE), messages, { addGenerationPrompt: true })).toBe(
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|vision_start|><|video_pad|><|vision_end|>What happens?<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(renderChatTemplate(inline(QWEN2_VL_TEMPLATE), messages)).not.toContain('<|im_start|>assistant');
  });

  it('Qwen2.5-Omni: own system turn, video + audio + text, numbered with add_vision_id / add_audio_id', () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: [{ type: 'text', text: 'You are Qwen.' }] },
      { role: 'user', content: [{ type: 'video' }, { type: 'audio' }, { type: 'text', text: 'Describe.' }] },
    ];
    const text = renderChatTemplate(inline(OMNI_TEMPLATE), messages, { addGenerationPrompt: true, variables: { add_vision_id: true, add_audio_id: true } });
    expect(text).toBe(
      '<|im_start|>system\nYou are Qwen.<|im_end|>\n<|im_start|>user\nVideo 1: <|vision_bos|><|VIDEO|><|vision_eos|>Audio 1: <|audio_bos|><|AUDIO|><|audio_eos|>Describe.<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('passes the special tokens of tokenizer_config.json as variables', () => {
    const dir = join(tmp, 'specials');
    mkdirSync(dir);
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ bos_token: { content: '<s>' }, eos_token: '</s>', chat_template: '{{ bos_token }}{{ messages[0].content }}{{ eos_token }}' }));
    expect(renderChatTemplate(loadChatTemplate(dir), [{ role: 'user', content: 'hi' }])).toBe('<s>hi</s>');
  });
});

describe('loadChatTemplate', () => {
  it('chat_template.jinja before chat_template.json before tokenizer_config.json', () => {
    const dir = join(tmp, 'order');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ chat_template: [{ name: 'tool_use', template: 'T' }, { name: 'default', template: 'D' }] }));
    expect(loadChatTemplate(dir)).toMatchObject({ source: join(dir, 'tokenizer_config.json'), text: 'D' });
    writeFileSync(join(dir, 'chat_template.json'), JSON.stringify({ chat_template: 'J' }));
    expect(loadChatTemplate(dir)).toMatchObject({ source: join(dir, 'chat_template.json'), text: 'J' });
    writeFileSync(join(dir, 'chat_template.jinja'), 'K');
    expect(loadChatTemplate(dir)).toMatchObject({ source: join(dir, 'chat_template.jinja'), text: 'K' });
  });

  it('errors name the folder or file', () => {
    const dir = join(tmp, 'none');
    mkdirSync(dir, { recursive: true });
    expect(() => loadChatTemplate(dir)).toThrow(`${dir}: no chat template`);
    writeFileSync(join(dir, 'chat_template.json'), JSON.stringify({ chat_template: 42 }));
    expect(() => loadChatTemplate(dir)).toThrow(`${join(dir, 'chat_template.json')}: chat_template must be a string`);
  });
});

describe('render errors', () => {
  it('a template that does not parse names its file', () => {
    expect(() => renderChatTemplate({ source: 'dir/chat_template.jinja', text: '{% for %}', specialTokens: {} }, [{ role: 'user', content: 'x' }])).toThrow(
      /^dir\/chat_template\.jinja: chat_template is not a template/,
    );
  });

  it('raise_exception inside the template names the file and says why', () => {
    const t = { source: 'dir/tokenizer_config.json', text: "{{ raise_exception('roles must alternate') }}", specialTokens: {} };
    expect(() => renderChatTemplate(t, [{ role: 'user', content: 'x' }])).toThrow('dir/tokenizer_config.json: rendering the chat template failed (roles must alternate)');
  });

  it('messages with an unknown part type or a text part without text name the field', () => {
    const t = inline(QWEN2_VL_TEMPLATE);
    expect(() => renderChatTemplate(t, [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'gif' } as never] }])).toThrow('messages[0].content[1].type: expected text, image, video or audio; got "gif"');
    expect(() => renderChatTemplate(t, [{ role: 'user', content: [{ type: 'text' } as never] }])).toThrow('messages[0].content[0].text: expected a string');
    expect(() => renderChatTemplate(t, [])).toThrow('messages: expected a non-empty list');
  });
});
