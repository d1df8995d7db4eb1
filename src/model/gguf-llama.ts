/**
 * An HF Llama model folder (config.json + safetensors, e.g. one `initModel` wrote) → a GGUF v3
 * file of llama.cpp's `llama` architecture holding the same weights in the same dtype, so
 * llama.cpp can run the very model kvprism runs (the decode bench measures both side by side).
 *
 * What llama.cpp's converter (convert_hf_to_gguf.py, LlamaModel) does and this file repeats:
 * - tensor names: model.embed_tokens → token_embd, layers.N.self_attn.{q,k,v,o}_proj →
 *   blk.N.attn_{q,k,v,output}, mlp.{gate,up,down}_proj → blk.N.ffn_{gate,up,down},
 *   input_layernorm → attn_norm, post_attention_layernorm → ffn_norm, norm → output_norm,
 *   lm_head → output (left out when tied: llama.cpp then reads token_embd);
 * - q_proj / k_proj rows permuted per head from HF's rotate-half RoPE layout (pairs (i, i+d/2))
 *   to GGML's adjacent-pair layout (pairs (2i, 2i+1)): new row h·d + 2i + j = old row h·d + j·d/2 + i;
 * - 1-D tensors (norm scales) stored as F32 whatever the weight dtype.
 *
 * The tokenizer is synthetic (llama.cpp needs one to load): an SPM ("llama") vocabulary of the
 * model's size, with the folder's byte tokens as `<0xXX>` byte pieces at their ids (llama.cpp
 * looks up the newline byte), its special tokens as control tokens and `<unused_N>` elsewhere.
 * Only ids matter for the bench; text round trips are not this file's concern.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeToF32 } from '../util/half.js';
import { bytesToUnicode } from './byte-tokenizer.js';
import { loadModelConfig, type ModelConfig } from './config.js';
import { writeGguf, type GgmlTensorType, type GgufTensorSpec, type GgufValue } from './gguf-write.js';
import { Checkpoint } from './safetensors.js';
import { checkTensors } from './weights.js';

/** gguf-py's llama token types (TokenType): NORMAL 1, CONTROL 3, UNUSED 5, BYTE 6. */
const TOKEN_TYPE = { normal: 1, control: 3, unused: 5, byte: 6 } as const;
/** general.file_type (llama_ftype): ALL_F32 0, MOSTLY_F16 1, MOSTLY_BF16 32. */
const FILE_TYPE: Record<GgmlTensorType, number> = { F32: 0, F16: 1, BF16: 32 };

export interface LlamaGgufSummary {
  file: string;
  tensorCount: number;
  weightType: GgmlTensorType;
  /** Bytes of tensor data (no header), the weights llama.cpp reads per decoded token. */
  tensorBytes: number;
}

/** Writes `outFile` from the model folder `modelDir`; throws naming the file and field on what llama.cpp's llama arch cannot hold. */
export function writeLlamaGguf(modelDir: string, outFile: string): LlamaGgufSummary {
  const config = loadModelConfig(modelDir);
  checkLlamaOnly(config, join(modelDir, 'config.json'));
  const ckpt = Checkpoint.open(modelDir);
  try {
    const { layout } = checkTensors(config, ckpt, modelDir);
    const sources = tensorMap(config, layout.prefix, ckpt.has(layout.lmHead) ? layout.lmHead : null);
    const dtypes = new Set([...sources.values()].filter((s) => ckpt.entry(s.from).shape.length === 2).map((s) => ckpt.entry(s.from).dtype));
    if (dtypes.size !== 1) throw new Error(`${ckpt.source}: weight matrices mix dtypes (${[...dtypes].join(', ')}); the GGUF writer expects one`);
    const weightType = [...dtypes][0]! as GgmlTensorType;
    const specs: GgufTensorSpec[] = [];
    for (const [name, src] of sources) {
      const e = ckpt.entry(src.from);
      specs.push({ name, type: e.shape.length === 1 ? 'F32' : weightType, shape: e.shape });
    }
    const metadata = llamaMetadata(config, weightType, readVocab(modelDir, config));
    let tensorBytes = 0;
    writeGguf(outFile, metadata, specs, (spec) => {
      const src = sources.get(spec.name)!;
      const t = ckpt.read(src.from);
      const data = spec.type === 'F32' && t.dtype !== 'F32' ? halfToF32(t.data as Uint16Array, t.dtype as 'F16' | 'BF16') : t.data;
      tensorBytes += data.byteLength;
      return src.permuteHeads ? permuteRopeRows(data, src.permuteHeads, t.shape[1]!) : data;
    });
    return { file: outFile, tensorCount: specs.length, weightType, tensorBytes };
  } finally {
    ckpt.close();
  }
}

function checkLlamaOnly(c: ModelConfig, file: string): void {
  if (c.family !== 'llama') throw new Error(`${file}: model_type "${c.modelType}" → GGUF: only model_type "llama" is supported`);
  if (c.qkvBias || c.oBias || c.mlpBias) throw new Error(`${file}: attention_bias / mlp_bias must be false for the GGUF writer (llama.cpp's llama arch has no biases here)`);
  if (c.rope.scaling.type !== 'default' || c.rope.rotaryDim !== c.headDim || c.rope.mropeSection) {
    throw new Error(`${file}: rope_scaling / partial_rotary_factor must be absent for the GGUF writer (plain RoPE over the whole head); got ${c.rope.scaling.type}, rotary dim ${c.rope.rotaryDim} of ${c.headDim}`);
  }
  if (Object.keys(c.projectors).length > 0) throw new Error(`${file}: kvprism.projectors has no place in a llama GGUF; write the model without projectors`);
}

interface Source {
  from: string;
  /** Heads whose rows to permute (q_proj: q heads, k_proj: kv heads); absent = copy as is. */
  permuteHeads?: number;
}

/** GGUF name → checkpoint tensor, in the order the converter writes them. */
function tensorMap(c: ModelConfig, p: string, lmHead: string | null): Map<string, Source> {
  const m = new Map<string, Source>();
  m.set('token_embd.weight', { from: `${p}embed_tokens.weight` });
  for (let l = 0; l < c.numLayers; l++) {
    const L = `${p}layers.${l}.`;
    const B = `blk.${l}.`;
    m.set(`${B}attn_norm.weight`, { from: `${L}input_layernorm.weight` });
    m.set(`${B}attn_q.weight`, { from: `${L}self_attn.q_proj.weight`, permuteHeads: c.qHeads });
    m.set(`${B}attn_k.weight`, { from: `${L}self_attn.k_proj.weight`, permuteHeads: c.kvHeads });
    m.set(`${B}attn_v.weight`, { from: `${L}self_attn.v_proj.weight` });
    m.set(`${B}attn_output.weight`, { from: `${L}self_attn.o_proj.weight` });
    m.set(`${B}ffn_norm.weight`, { from: `${L}post_attention_layernorm.weight` });
    m.set(`${B}ffn_gate.weight`, { from: `${L}mlp.gate_proj.weight` });
    m.set(`${B}ffn_up.weight`, { from: `${L}mlp.up_proj.weight` });
    m.set(`${B}ffn_down.weight`, { from: `${L}mlp.down_proj.weight` });
  }
  m.set('output_norm.weight', { from: `${p}norm.weight` });
  if (lmHead) m.set('output.weight', { from: lmHead });
  return m;
}

/**
 * Rotate-half → adjacent pairs within each head. `w`: [heads·headDim][cols] row-major, any
 * element type. Row h·d + 2i + j of the result is row h·d + j·d/2 + i of `w`.
 */
export function permuteRopeRows<T extends Float32Array | Uint16Array>(w: T, heads: number, cols: number): T {
  const rows = w.length / cols;
  const d = rows / heads;
  if (!Number.isInteger(d) || d % 2 !== 0) throw new RangeError(`permuteRopeRows: ${rows} rows do not split into ${heads} heads of an even size`);
  const out = new (w.constructor as { new (n: number): T })(w.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < d / 2; i++) {
      for (let j = 0; j < 2; j++) {
        const src = (h * d + j * (d / 2) + i) * cols;
        out.set(w.subarray(src, src + cols), (h * d + 2 * i + j) * cols);
      }
    }
  }
  return out;
}

/** 16-bit norm scales widened to F32 (llama.cpp keeps 1-D tensors in F32). */
function halfToF32(bits: Uint16Array, dtype: 'F16' | 'BF16'): Float32Array {
  return decodeToF32(bits, dtype === 'BF16' ? 'bf16' : 'f16', 0, bits.length);
}

interface Vocab {
  tokens: string[];
  types: number[];
}

/**
 * The SPM vocabulary: ids of byte tokens and special tokens read from the folder's
 * tokenizer.json (byte-level BPE as init-model writes), every other id `<unused_N>`.
 */
function readVocab(dir: string, c: ModelConfig): Vocab {
  const file = join(dir, 'tokenizer.json');
  let tok: { model?: { vocab?: Record<string, number> }; added_tokens?: { id: number; content: string }[] };
  try {
    tok = JSON.parse(readFileSync(file, 'utf8')) as typeof tok;
  } catch (e) {
    throw new Error(`${file}: cannot read as JSON (${(e as Error).message}); the GGUF writer takes byte and special token ids from it`);
  }
  const tokens = Array.from({ length: c.vocabSize }, (_, id) => `<unused_${id}>`);
  const types = new Array<number>(c.vocabSize).fill(TOKEN_TYPE.unused);
  const put = (id: number, text: string, type: number, what: string): void => {
    if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize) throw new Error(`${file}: ${what} id ${id} is outside the vocabulary 0..${c.vocabSize - 1}`);
    tokens[id] = text;
    types[id] = type;
  };
  const byteOf = new Map(bytesToUnicode().map((ch, b) => [ch, b]));
  let bytes = 0;
  for (const [text, id] of Object.entries(tok.model?.vocab ?? {})) {
    const b = byteOf.get(text);
    if (b === undefined) continue;
    put(id, `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, TOKEN_TYPE.byte, `byte token ${JSON.stringify(text)}`);
    bytes++;
  }
  if (bytes !== 256) throw new Error(`${file}: model.vocab holds ${bytes} of the 256 byte-level tokens; the GGUF writer needs all 256 (llama.cpp's SPM vocabulary looks up byte pieces)`);
  for (const s of tok.added_tokens ?? []) put(s.id, s.content, TOKEN_TYPE.control, `added token ${JSON.stringify(s.content)}`);
  if (new Set(tokens).size !== tokens.length) throw new Error(`${file}: token texts are not unique; llama.cpp needs one id per text`);
  return { tokens, types };
}

function llamaMetadata(c: ModelConfig, weightType: GgmlTensorType, vocab: Vocab): Map<string, GgufValue> {
  const u32 = (value: number): GgufValue => ({ type: 'u32', value });
  const m = new Map<string, GgufValue>([
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.name', { type: 'string', value: 'kvprism' }],
    ['general.file_type', u32(FILE_TYPE[weightType])],
    ['general.alignment', u32(32)],
    ['llama.vocab_size', u32(c.vocabSize)],
    ['llama.context_length', u32(c.maxPositions)],
    ['llama.embedding_length', u32(c.hiddenSize)],
    ['llama.block_count', u32(c.numLayers)],
    ['llama.feed_forward_length', u32(c.intermediateSize)],
    ['llama.attention.head_count', u32(c.qHeads)],
    ['llama.attention.head_count_kv', u32(c.kvHeads)],
    ['llama.attention.key_length', u32(c.headDim)],
    ['llama.attention.value_length', u32(c.headDim)],
    ['llama.rope.dimension_count', u32(c.headDim)],
    ['llama.rope.freq_base', { type: 'f32', value: c.rope.theta }],
    ['llama.attention.layer_norm_rms_epsilon', { type: 'f32', value: c.rmsNormEps }],
    ['tokenizer.ggml.model', { type: 'string', value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: 'string[]', value: vocab.tokens }],
    // SPM scores rank merges; no merges matter here, so every score is 0.
    ['tokenizer.ggml.scores', { type: 'f32[]', value: new Float32Array(c.vocabSize) }],
    ['tokenizer.ggml.token_type', { type: 'i32[]', value: vocab.types }],
  ]);
  if (c.bosTokenId !== null) m.set('tokenizer.ggml.bos_token_id', u32(c.bosTokenId));
  if (c.eosTokenIds[0] !== undefined) m.set('tokenizer.ggml.eos_token_id', u32(c.eosTokenIds[0]));
  m.set('tokenizer.ggml.add_bos_token', { type: 'bool', value: false });
  return m;
}
