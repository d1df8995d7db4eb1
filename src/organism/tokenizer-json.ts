/**
 * The organism's tokenizer.json: a closed word-level vocabulary. @huggingface/tokenizers
 * (JS) has no WordLevel model, so it is written as a WordPiece model whose vocabulary holds
 * only whole words (no "##" pieces): every known word is one token, anything else <unk>.
 */
import { SPECIAL_TOKENS } from '../datasets/av-world/vocab.js';

export function tokenizerJson(words: readonly string[]): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  words.forEach((w, i) => {
    vocab[w] = i;
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content) => ({
      id: vocab[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'WhitespaceSplit' },
    post_processor: null,
    decoder: { type: 'WordPiece', prefix: '##', cleanup: false },
    model: { type: 'WordPiece', unk_token: '<unk>', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}

/** tokenizer_config.json: special tokens; the runtime prepends BOS itself (Prompt.addBos). */
export function tokenizerConfigJson(): Record<string, unknown> {
  return { tokenizer_class: 'PreTrainedTokenizerFast', bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', pad_token: '<pad>', add_bos_token: false, add_eos_token: false, model_max_length: 8192 };
}
