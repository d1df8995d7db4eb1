/**
 * Tokenizers of a model folder: tokenizer.json (through @huggingface/tokenizers, with
 * tokenizer_config.json when present) or a llama2.c tokenizer.bin / tok*.bin (TinyStories).
 * Both answer the same small interface; special tokens (BOS) are added by the runtime, never
 * by `encode`, so prompts built from segments stay exact.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import type { ModelConfig } from './config.js';
import { Llama2cTokenizer } from './tokenizer-llama2c.js';

export interface TextTokenizer {
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosIds: number[];
  /** Whether prompts of this model start with BOS (Prompt.addBos defaults to this). */
  readonly addsBos: boolean;
  /** Token ids of text, without special tokens. */
  encode(text: string): number[];
  /** Text of ids, special tokens skipped. */
  decode(ids: readonly number[]): string;
}

class HfTokenizer implements TextTokenizer {
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosIds: number[];
  readonly addsBos: boolean;

  constructor(
    private readonly tok: Tokenizer,
    config: ModelConfig,
    tokConfig: Record<string, unknown>,
  ) {
    this.vocabSize = tok.get_vocab(true).size;
    const idOf = (t: unknown): number | null => {
      const s = typeof t === 'string' ? t : (t as { content?: string } | null)?.content;
      return s === undefined ? null : (tok.token_to_id(s) ?? null);
    };
    this.bosId = idOf(tokConfig.bos_token) ?? config.bosTokenId;
    const eos = idOf(tokConfig.eos_token);
    this.eosIds = [...new Set([...config.eosTokenIds, ...(eos === null ? [] : [eos])])];
    const withSpecial = tok.encode('a', { add_special_tokens: true }).ids;
    this.addsBos = typeof tokConfig.add_bos_token === 'boolean' ? tokConfig.add_bos_token : this.bosId !== null && withSpecial[0] === this.bosId;
  }

  encode(text: string): number[] {
    return this.tok.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: readonly number[]): string {
    return this.tok.decode([...ids], { skip_special_tokens: true });
  }
}

/** Loads the tokenizer of a model folder; throws naming the folder when none is there. */
export function loadTokenizer(dir: string, config: ModelConfig): TextTokenizer {
  const json = join(dir, 'tokenizer.json');
  if (existsSync(json)) {
    const tokConfigFile = join(dir, 'tokenizer_config.json');
    const tokConfig = existsSync(tokConfigFile) ? readJson(tokConfigFile) : {};
    let tok: Tokenizer;
    try {
      tok = new Tokenizer(readJson(json), tokConfig);
    } catch (e) {
      throw new Error(`${json}: cannot build the tokenizer (${(e as Error).message})`);
    }
    return new HfTokenizer(tok, config, tokConfig);
  }
  const bin = ['tokenizer.bin', ...safeList(dir).filter((f) => /^tok\d*\.bin$/.test(f)).sort()].find((f) => existsSync(join(dir, f)));
  if (bin) return Llama2cTokenizer.load(join(dir, bin), config.vocabSize);
  throw new Error(`${dir}: no tokenizer found; expected tokenizer.json or a llama2.c tokenizer.bin (tok*.bin)`);
}

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${file}: cannot read as JSON (${(e as Error).message})`);
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
