/**
 * A minimal but real tokenizer.json for random-weight models: GPT-2 style byte-level BPE with
 * the 256 byte symbols and no merges (every UTF-8 byte is one token), plus special tokens at
 * the ids the config names. @huggingface/tokenizers loads it like any HF tokenizer.
 */

/** GPT-2's bytes_to_unicode: printable stand-ins for the 256 byte values. */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const out = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    if (bs.includes(b)) out[b] = String.fromCharCode(b);
    else out[b] = String.fromCharCode(256 + extra++);
  }
  return out;
}

export interface ByteTokenizerFiles {
  'tokenizer.json': object;
  'tokenizer_config.json': object;
}

/**
 * Byte tokens take ids `firstByteId`..`firstByteId + 255`; special tokens (`<|endoftext|>`,
 * `<s>`, ...) take the ids given. The ids must fit the model's vocabulary.
 */
export function byteLevelTokenizer(specials: { content: string; id: number }[], firstByteId: number, opts: { bos?: string; eos?: string; addBos?: boolean } = {}): ByteTokenizerFiles {
  const vocab: Record<string, number> = {};
  bytesToUnicode().forEach((ch, b) => (vocab[ch] = firstByteId + b));
  const taken = new Set(Object.values(vocab));
  for (const s of specials) {
    if (taken.has(s.id)) throw new RangeError(`special token ${s.content} id ${s.id} collides with the byte tokens ${firstByteId}..${firstByteId + 255}`);
    vocab[s.content] = s.id;
  }
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    'tokenizer.json': {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: specials.map((s) => ({ id: s.id, content: s.content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
      normalizer: null,
      pre_tokenizer: byteLevel,
      post_processor: null,
      decoder: byteLevel,
      model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges: [] },
    },
    'tokenizer_config.json': {
      tokenizer_class: 'PreTrainedTokenizerFast',
      add_bos_token: opts.addBos ?? false,
      ...(opts.bos ? { bos_token: opts.bos } : {}),
      ...(opts.eos ? { eos_token: opts.eos } : {}),
    },
  };
}
