/**
 * The GGUF writer: a model folder written by initModel becomes a GGUF v3 file that an
 * independent reader (gguf-read.ts, from ggml's docs/gguf.md) parses back to the same
 * hyperparameters and bytes; the Q/K row permutation keeps attention scores unchanged under
 * GGML's adjacent-pair RoPE; inputs llama's arch cannot hold are refused by name.
 */
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLlamaGguf, permuteRopeRows } from '../../src/model/gguf-llama.js';
import { writeGguf } from '../../src/model/gguf-write.js';
import { initModel } from '../../src/model/init-model.js';
import { Checkpoint } from '../../src/model/safetensors.js';
import { writeSafetensors } from '../../src/model/safetensors-write.js';
import type { Tensor } from '../../src/model/safetensors.js';
import { randomNormalArray } from '../../src/util/random.js';
import { readGguf, tensorData } from './gguf-read.js';

let dir: string;
beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), 'kvprism-gguf-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function readAll(modelDir: string): Map<string, Tensor> {
  const ckpt = Checkpoint.open(modelDir);
  try {
    return new Map(ckpt.names().map((n) => [n, ckpt.read(n)]));
  } finally {
    ckpt.close();
  }
}

describe('writeLlamaGguf', () => {
  it('writes tiny-llama (f32) with llama metadata, reversed dims, aligned offsets and the same bytes', () => {
    const model = join(dir, 'tiny-f32');
    initModel({ preset: 'tiny-llama', out: model });
    const out = join(model, 'model.gguf');
    const summary = writeLlamaGguf(model, out);
    const g = readGguf(out);
    expect(g.version).toBe(3);
    const md = g.metadata;
    expect(md.get('general.architecture')).toBe('llama');
    expect(md.get('general.file_type')).toBe(0);
    expect([md.get('llama.block_count'), md.get('llama.embedding_length'), md.get('llama.feed_forward_length')]).toEqual([2, 32, 44]);
    expect([md.get('llama.attention.head_count'), md.get('llama.attention.head_count_kv'), md.get('llama.rope.dimension_count')]).toEqual([4, 2, 8]);
    expect(md.get('llama.rope.freq_base')).toBe(10000);
    expect(md.get('llama.attention.layer_norm_rms_epsilon')).toBeCloseTo(1e-5, 10);
    const tokens = md.get('tokenizer.ggml.tokens') as string[];
    const types = md.get('tokenizer.ggml.token_type') as number[];
    expect(tokens).toHaveLength(300);
    expect((md.get('tokenizer.ggml.scores') as number[]).length).toBe(300);
    expect(types.filter((t) => t === 6)).toHaveLength(256);
    expect(types[tokens.indexOf('<0x0A>')]).toBe(6);
    expect([tokens[257], types[257], tokens[258], types[258]]).toEqual(['<s>', 3, '</s>', 3]);
    expect([md.get('tokenizer.ggml.bos_token_id'), md.get('tokenizer.ggml.eos_token_id')]).toEqual([257, 258]);

    const src = readAll(model);
    // 1 embedding + 9 per layer + final norm + untied output.
    expect(g.tensors).toHaveLength(1 + 2 * 9 + 2);
    expect(summary.tensorCount).toBe(g.tensors.length);
    let end = 0;
    for (const t of g.tensors) {
      expect(t.offset % 32).toBe(0);
      expect(t.offset).toBeGreaterThanOrEqual(end);
      end = t.offset + t.ne.reduce((a, b) => a * b, 1) * 4;
      expect(t.type).toBe(0);
    }
    expect(g.bytes.length).toBe(g.dataStart + Math.ceil(end / 32) * 32);
    const embd = g.tensors.find((t) => t.name === 'token_embd.weight')!;
    expect(embd.ne).toEqual([32, 300]);
    expect(tensorData(g, 'token_embd.weight')).toEqual(src.get('model.embed_tokens.weight')!.data);
    expect(tensorData(g, 'blk.1.ffn_down.weight')).toEqual(src.get('model.layers.1.mlp.down_proj.weight')!.data);
    expect(tensorData(g, 'blk.0.attn_v.weight')).toEqual(src.get('model.layers.0.self_attn.v_proj.weight')!.data);
    expect(tensorData(g, 'output.weight')).toEqual(src.get('lm_head.weight')!.data);
    const q = src.get('model.layers.0.self_attn.q_proj.weight')!;
    expect(tensorData(g, 'blk.0.attn_q.weight')).toEqual(permuteRopeRows(q.data, 4, 32));
    expect(tensorData(g, 'blk.0.attn_q.weight')).not.toEqual(q.data);
    expect(g.tensors.find((t) => t.name === 'blk.0.attn_k.weight')!.ne).toEqual([32, 16]);
  });

  it('keeps bf16 matrices as BF16, widens norm scales to F32 and leaves output out when tied', () => {
    const model = join(dir, 'tiny-bf16-tied');
    initModel({ preset: 'tiny-llama', out: model, dtype: 'bf16', seed: 3 });
    const tensors = readAll(model);
    tensors.delete('lm_head.weight');
    // Norm scales other than 1, so a bf16 → f32 widening that got the bits wrong shows.
    const norm = tensors.get('model.norm.weight')!;
    norm.data = new Uint16Array(Array.from({ length: 32 }, (_, i) => 0x3f80 + i));
    writeSafetensors(join(model, 'model.safetensors'), tensors);
    const config = JSON.parse(readFileSync(join(model, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(model, 'config.json'), JSON.stringify({ ...config, tie_word_embeddings: true }));
    const out = join(model, 'model.gguf');
    expect(writeLlamaGguf(model, out).weightType).toBe('BF16');
    const g = readGguf(out);
    expect(g.metadata.get('general.file_type')).toBe(32);
    expect(g.tensors.some((t) => t.name === 'output.weight')).toBe(false);
    expect(g.tensors.find((t) => t.name === 'blk.0.ffn_gate.weight')!.type).toBe(30);
    expect(tensorData(g, 'blk.0.ffn_gate.weight')).toEqual(tensors.get('model.layers.0.mlp.gate_proj.weight')!.data);
    expect(g.tensors.find((t) => t.name === 'output_norm.weight')!.type).toBe(0);
    const widened = tensorData(g, 'output_norm.weight') as Float32Array;
    for (let i = 0; i < 32; i++) expect(widened[i]).toBe(1 + i / 128);
  });

  it('writes f16 matrices as F16 (file type MOSTLY_F16) with their bits unchanged', () => {
    const model = join(dir, 'tiny-f16');
    initModel({ preset: 'tiny-llama', out: model, dtype: 'f16' });
    const g = readGguf(writeLlamaGguf(model, join(model, 'model.gguf')).file);
    expect(g.metadata.get('general.file_type')).toBe(1);
    expect(g.tensors.find((t) => t.name === 'blk.1.attn_output.weight')!.type).toBe(1);
    expect(tensorData(g, 'blk.1.attn_output.weight')).toEqual(readAll(model).get('model.layers.1.self_attn.o_proj.weight')!.data);
  });

  it('names the file and field it cannot write', () => {
    const qwen = join(dir, 'tiny-qwen2');
    initModel({ preset: 'tiny-qwen2', out: qwen });
    expect(() => writeLlamaGguf(qwen, join(qwen, 'x.gguf'))).toThrow(/tiny-qwen2\/config\.json: model_type "qwen2" → GGUF: only model_type "llama"/);
    const noTok = join(dir, 'tiny-no-tokenizer');
    initModel({ preset: 'tiny-llama', out: noTok });
    unlinkSync(join(noTok, 'tokenizer.json'));
    expect(() => writeLlamaGguf(noTok, join(noTok, 'x.gguf'))).toThrow(/tokenizer\.json: cannot read as JSON/);
    const spec = { name: 'w', type: 'F32' as const, shape: [2, 3] };
    expect(() => writeGguf(join(dir, 'bad.gguf'), new Map(), [spec], () => new Float32Array(5))).toThrow(/tensor "w" data is Float32Array of 20 bytes; F32 \[2, 3\] needs a Float32Array of 24/);
    expect(() => writeGguf(join(dir, 'bad.gguf'), new Map(), [spec], () => new Uint16Array(6))).toThrow(/tensor "w" data is Uint16Array/);
  });
});

describe('permuteRopeRows', () => {
  /** Rotate-half RoPE (HF) on one head's vector: pairs (i, i + d/2). */
  function ropeHalf(v: Float32Array, pos: number, theta: number): Float32Array {
    const d = v.length;
    const out = new Float32Array(d);
    for (let i = 0; i < d / 2; i++) {
      const a = pos * theta ** ((-2 * i) / d);
      out[i] = v[i]! * Math.cos(a) - v[i + d / 2]! * Math.sin(a);
      out[i + d / 2] = v[i + d / 2]! * Math.cos(a) + v[i]! * Math.sin(a);
    }
    return out;
  }
  /** GGML's normal-mode RoPE on one head's vector: pairs (2i, 2i + 1). */
  function ropeAdjacent(v: Float32Array, pos: number, theta: number): Float32Array {
    const d = v.length;
    const out = new Float32Array(d);
    for (let i = 0; i < d / 2; i++) {
      const a = pos * theta ** ((-2 * i) / d);
      out[2 * i] = v[2 * i]! * Math.cos(a) - v[2 * i + 1]! * Math.sin(a);
      out[2 * i + 1] = v[2 * i + 1]! * Math.cos(a) + v[2 * i]! * Math.sin(a);
    }
    return out;
  }
  const matvec = (w: Float32Array, x: Float32Array): Float32Array => {
    const rows = w.length / x.length;
    return Float32Array.from({ length: rows }, (_, r) => x.reduce((s, xi, c) => s + w[r * x.length + c]! * xi, 0));
  };
  const dot = (a: Float32Array, b: Float32Array): number => a.reduce((s, ai, i) => s + ai * b[i]!, 0);

  it('gives GGML-RoPE attention scores equal to HF-RoPE scores on the unpermuted weights (GQA)', () => {
    const [qHeads, kvHeads, d, cols, theta] = [4, 2, 8, 12, 10000];
    const wq = randomNormalArray(qHeads * d * cols, 1);
    const wk = randomNormalArray(kvHeads * d * cols, 2);
    const x = randomNormalArray(cols, 3);
    const y = randomNormalArray(cols, 4);
    const [q, k] = [matvec(wq, x), matvec(wk, y)];
    const [qP, kP] = [matvec(permuteRopeRows(wq, qHeads, cols), x), matvec(permuteRopeRows(wk, kvHeads, cols), y)];
    for (let h = 0; h < qHeads; h++) {
      const kv = Math.floor(h / (qHeads / kvHeads));
      const head = (v: Float32Array, i: number): Float32Array => v.subarray(i * d, (i + 1) * d);
      const hf = dot(ropeHalf(head(q, h), 7, theta), ropeHalf(head(k, kv), 3, theta));
      const ggml = dot(ropeAdjacent(head(qP, h), 7, theta), ropeAdjacent(head(kP, kv), 3, theta));
      expect(ggml).toBeCloseTo(hf, 3);
      // Without the permutation the scores differ: the test can tell.
      expect(Math.abs(dot(ropeAdjacent(head(q, h), 7, theta), ropeAdjacent(head(k, kv), 3, theta)) - hf)).toBeGreaterThan(1e-2);
    }
  });

  it('works on 16-bit rows and refuses heads of odd size', () => {
    const w = Uint16Array.from({ length: 8 }, (_, i) => i);
    expect([...permuteRopeRows(w, 1, 2)]).toEqual([0, 1, 4, 5, 2, 3, 6, 7]);
    expect(() => permuteRopeRows(new Float32Array(6), 1, 2)).toThrow(/3 rows do not split into 1 heads of an even size/);
  });
});
