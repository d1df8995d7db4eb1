/**
 * The model folder's own chat template, rendered through @huggingface/jinja as transformers'
 * apply_chat_template does: variables `messages`, `add_generation_prompt`, the special tokens
 * of tokenizer_config.json (`bos_token`, `eos_token`, …, `additional_special_tokens`) and any
 * extra the caller passes (e.g. `add_vision_id`); @huggingface/jinja supplies `raise_exception`.
 *
 * Where the template is looked for, first found wins (the processor's before the tokenizer's,
 * as AutoProcessor does): chat_template.jinja, chat_template.json {"chat_template": …},
 * tokenizer_config.json "chat_template" (a string, or a list of {name, template}: "default").
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';

export type ChatContentPart =
  | { type: 'text'; text: string }
  | { type: 'image' | 'video' | 'audio'; [extra: string]: unknown };

export interface ChatMessage {
  role: string;
  content: string | ChatContentPart[];
}

export interface ChatTemplate {
  /** Where the template came from ("<dir>/chat_template.json"), for errors. */
  source: string;
  text: string;
  /** Special-token variables from tokenizer_config.json (name → token text). */
  specialTokens: Record<string, string | string[]>;
}

const SPECIAL_KEYS = ['bos_token', 'eos_token', 'unk_token', 'pad_token', 'sep_token', 'cls_token', 'mask_token'] as const;

/** Loads the folder's chat template; throws naming the folder when it has none. */
export function loadChatTemplate(dir: string): ChatTemplate {
  const tokConfigFile = join(dir, 'tokenizer_config.json');
  const tokConfig = existsSync(tokConfigFile) ? readJson(tokConfigFile) : {};
  const specialTokens = specialTokenVariables(tokConfig);
  const jinja = join(dir, 'chat_template.jinja');
  if (existsSync(jinja)) return { source: jinja, text: readFileSync(jinja, 'utf8'), specialTokens };
  const json = join(dir, 'chat_template.json');
  if (existsSync(json)) return { source: json, text: templateField(readJson(json).chat_template, json), specialTokens };
  if (tokConfig.chat_template !== undefined) return { source: tokConfigFile, text: templateField(tokConfig.chat_template, tokConfigFile), specialTokens };
  throw new Error(`${dir}: no chat template; expected chat_template.jinja, chat_template.json or a "chat_template" in tokenizer_config.json`);
}

export interface RenderOptions {
  addGenerationPrompt?: boolean;
  /** Further template variables (add_vision_id, add_audio_id, tools, …). */
  variables?: Record<string, unknown>;
}

/** Renders the conversation to the prompt text; errors name the template's file. */
export function renderChatTemplate(template: ChatTemplate, messages: ChatMessage[], opts: RenderOptions = {}): string {
  validateMessages(messages);
  let compiled: Template;
  try {
    compiled = new Template(template.text);
  } catch (e) {
    throw new Error(`${template.source}: chat_template is not a template @huggingface/jinja can parse (${(e as Error).message})`);
  }
  try {
    return compiled.render({
      ...template.specialTokens,
      ...opts.variables,
      messages,
      add_generation_prompt: opts.addGenerationPrompt ?? false,
    });
  } catch (e) {
    throw new Error(`${template.source}: rendering the chat template failed (${(e as Error).message})`);
  }
}

function validateMessages(messages: ChatMessage[]): void {
  if (!Array.isArray(messages) || messages.length === 0) throw new Error('messages: expected a non-empty list of {role, content}');
  messages.forEach((m, i) => {
    if (typeof m?.role !== 'string') throw new Error(`messages[${i}].role: expected a string ("system", "user", "assistant")`);
    if (typeof m.content === 'string') return;
    if (!Array.isArray(m.content)) throw new Error(`messages[${i}].content: expected a string or a list of {type, …} parts`);
    m.content.forEach((p, j) => {
      const where = `messages[${i}].content[${j}]`;
      if (!['text', 'image', 'video', 'audio'].includes(p?.type)) throw new Error(`${where}.type: expected text, image, video or audio; got ${JSON.stringify(p?.type)}`);
      if (p.type === 'text' && typeof p.text !== 'string') throw new Error(`${where}.text: expected a string`);
    });
  });
}

function specialTokenVariables(tokConfig: Record<string, unknown>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const text = (t: unknown): string | undefined => (typeof t === 'string' ? t : typeof (t as { content?: unknown } | null)?.content === 'string' ? (t as { content: string }).content : undefined);
  for (const k of SPECIAL_KEYS) {
    const v = text(tokConfig[k]);
    if (v !== undefined) out[k] = v;
  }
  const extra = tokConfig.additional_special_tokens;
  if (Array.isArray(extra)) out.additional_special_tokens = extra.map(text).filter((t): t is string => t !== undefined);
  return out;
}

function templateField(v: unknown, file: string): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    const named = v.find((t) => (t as { name?: unknown })?.name === 'default') as { template?: unknown } | undefined;
    if (typeof named?.template === 'string') return named.template;
  }
  throw new Error(`${file}: chat_template must be a string or a list of {"name", "template"} with a "default"; got ${JSON.stringify(v)?.slice(0, 80)}`);
}

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${file}: cannot read as JSON (${(e as Error).message})`);
  }
}
