/**
 * The whole model input of a multimodal chat: render the folder's chat template, expand each
 * media placeholder into its tower tokens, attach exact RoPE ids and slot metadata, embed.
 *
 *   const { embedded } = buildChatPrompt(model, [{ role: 'user', content: [{ type: 'video' }, { type: 'text', text: 'What happens?' }] }],
 *     [{ kind: 'video', grid, secondsPerGrid, embeddings, audio: { kind: 'audio', tokens, secondsPerToken: 0.04, embeddings: a } }]);
 *   decoder.prefill(seq, embedded);
 *
 * `media` lists the inputs in the order their placeholders appear (images, videos and audio
 * clips are matched per kind, in order). No BOS is prepended: the template writes what the
 * model expects, as transformers' apply_chat_template does.
 */
import { join } from 'node:path';
import { embedPrompt, type EmbeddedPrompt } from '../embed-prompt.js';
import type { Model } from '../model.js';
import type { Prompt } from '../prompt.js';
import { loadChatTemplate, renderChatTemplate, type ChatMessage, type ChatTemplate } from './chat-template.js';
import { expandMedia } from './expand-media.js';
import { loadFamily, type Family, type RopeIndexRules } from './family.js';
import type { MediaInput } from './media.js';

export interface ChatPromptOptions {
  /** Append the assistant header (default true: the prompt is for generation). */
  addGenerationPrompt?: boolean;
  /** Further template variables (add_vision_id, add_audio_id, …). */
  variables?: Record<string, unknown>;
  /** Template to use instead of the folder's. */
  template?: ChatTemplate;
  /** Family to use instead of the one config.json names. */
  family?: Family;
  /** Which transformers get_rope_index to follow for Qwen2-VL / 2.5-VL (default 'transformers-4'; see RopeIndexRules). */
  ropeIndexRules?: RopeIndexRules;
}

export interface ChatPrompt {
  /** The rendered template text, placeholders not yet expanded. */
  text: string;
  /** Segments with explicit positions (feed to embedPrompt, or keep for a dataset). */
  prompt: Prompt;
  /** What the decoder consumes. */
  embedded: EmbeddedPrompt;
}

/**
 * One user turn for a CLI-style call (`--video F --audio F --prompt TEXT`): a content part per
 * medium in order (a video's own audio track rides on its video part), then the text.
 */
export function userTurn(text: string, media: readonly MediaInput[] = []): ChatMessage[] {
  return [{ role: 'user', content: [...media.map((m) => ({ type: m.kind })), { type: 'text' as const, text }] }];
}

export function buildChatPrompt(model: Model, messages: ChatMessage[], media: readonly MediaInput[] = [], opts: ChatPromptOptions = {}): ChatPrompt {
  const template = opts.template ?? loadChatTemplate(model.dir);
  const family = opts.family ?? loadFamily(model.dir, opts.ropeIndexRules);
  if (model.config.rope.mropeSection === null) {
    throw new Error(`${join(model.dir, 'config.json')}: rope_scaling has no mrope_section, but ${family.name} places media with 3-axis (mrope) positions`);
  }
  const text = renderChatTemplate(template, messages, { addGenerationPrompt: opts.addGenerationPrompt ?? true, variables: opts.variables });
  const expanded = expandMedia(text, media, {
    family,
    tokenizer: model.tokenizer,
    hidden: model.config.hiddenSize,
    templateSource: template.source,
    tokenizerSource: join(model.dir, 'tokenizer.json'),
  });
  const prompt: Prompt = { segments: expanded.segments, addBos: false };
  return { text, prompt, embedded: embedPrompt(model, prompt) };
}
