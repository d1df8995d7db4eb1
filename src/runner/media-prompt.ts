/**
 * Samples whose prompt names media files (JSONL `{"video": …}` pieces) → samples the scoring
 * path can embed: the files are encoded by the model's towers (encodeMedia), the pieces become
 * one user turn in their order (media parts and text parts), and the folder's chat template
 * frames it with the generation prompt, so the choices are scored as the assistant's answer
 * (buildChatPrompt: exact positions and slot metadata).
 *
 * Protocols: the held-back tail (src/model/held-prompt.ts) is the framed prompt's trailing run
 * of text tokens, decoded at its exact positions over the compressed cache. Query-aware holds
 * back the last token (`\n` after `assistant`). Query-agnostic holds back every text token after
 * the last media span: its closing markers (`<|audio_eos|><|vision_eos|>` for a video with its
 * audio track), the question and the frame's close (`<|im_end|>\n<|im_start|>assistant\n`), so
 * the policy compresses the system turn, the user header, any text before the last medium and
 * the media without seeing the question (a question written before the media is context). Multi-turn is refused: each question would
 * need a turn of its own in the chat, which the runner's turn protocol does not write.
 */
import { buildChatPrompt } from '../model/families/chat-prompt.js';
import type { ChatContentPart } from '../model/families/chat-template.js';
import { encodeMedia, type EncodedMedia, type MediaRequest } from '../model/families/encode-media.js';
import { loadPreprocessorConfig, type MediaPreprocessing } from '../model/media/preprocessor-config.js';
import type { Model } from '../model/model.js';
import type { QASample } from '../model/prompt.js';

export function hasMedia(sample: QASample): boolean {
  return sample.prompt.segments.some((s) => s.kind === 'media');
}

/** The sample's media requests in prompt order; refuses a clip bound (start / end). */
export function mediaRequests(sample: QASample): MediaRequest[] {
  const out: MediaRequest[] = [];
  sample.prompt.segments.forEach((s, j) => {
    if (s.kind !== 'media') return;
    if (s.start !== undefined || s.end !== undefined) {
      throw new Error(
        `sample ${sample.id}: prompt[${j}] (${s.request.file}) gives start/end, but the media readers decode whole files; cut the clip first (ffmpeg -ss START -to END -i IN OUT) and name the cut file`,
      );
    }
    out.push(s.request);
  });
  return out;
}

/** The sample's pieces as the content of one user turn, in order. */
export function userContent(sample: QASample): ChatContentPart[] {
  return sample.prompt.segments.map((s, j): ChatContentPart => {
    if (s.kind === 'media') return { type: s.request.kind };
    if (s.kind === 'text') return { type: 'text', text: s.text };
    throw new Error(`sample ${sample.id}: prompt[${j}] is a ${s.kind} segment; a prompt with media takes only text and media pieces`);
  });
}

/**
 * Resolves media samples for one model. The encoded media of the last sample is kept while the
 * trials of that sample run (sample-major order asks for it once per trial, and consecutive
 * questions about the same files reuse it); earlier samples' media are dropped.
 */
export class MediaPromptResolver {
  private preprocessing: MediaPreprocessing | null = null;
  private last: { key: string; encoded: EncodedMedia } | null = null;

  constructor(private readonly model: Model) {}

  /** `sample` itself when it has no media; else the sample with its framed, encoded prompt. */
  async resolve(sample: QASample): Promise<QASample> {
    if (!hasMedia(sample)) return sample;
    const requests = mediaRequests(sample);
    const content = userContent(sample);
    const encoded = await this.encoded(sample, requests);
    const chat = buildChatPrompt(this.model, [{ role: 'user', content }], encoded.inputs, { addGenerationPrompt: true });
    return { ...sample, prompt: chat.prompt };
  }

  private async encoded(sample: QASample, requests: MediaRequest[]): Promise<EncodedMedia> {
    const key = JSON.stringify(requests);
    if (this.last?.key === key) return this.last.encoded;
    this.last = null;
    const preprocessing = this.settings(sample);
    let encoded: EncodedMedia;
    try {
      encoded = await encodeMedia(this.model, requests, { preprocessing });
    } catch (e) {
      throw new Error(`sample ${sample.id}: ${(e as Error).message}`);
    }
    this.last = { key, encoded };
    return encoded;
  }

  /** The folder's processor settings; a folder without towers or the file is refused first. */
  private settings(sample: QASample): MediaPreprocessing {
    if (this.preprocessing) return this.preprocessing;
    const { towers, dir } = this.model;
    if (!towers) {
      throw new Error(`sample ${sample.id} has media pieces, but the model folder ${dir} has no vision or audio tower (its config.json declares none); expected an AV-LLM folder such as Qwen2.5-Omni or Qwen2.5-VL`);
    }
    try {
      this.preprocessing = loadPreprocessorConfig(dir);
    } catch (e) {
      throw new Error(`sample ${sample.id} has media pieces, but the model folder cannot read media: ${(e as Error).message}`);
    }
    return this.preprocessing;
  }
}
