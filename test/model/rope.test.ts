import { describe, expect, it } from 'vitest';
import { referenceRope } from '../../src/attention/reference-ops.js';
import { parseModelConfig } from '../../src/model/config.js';
import { fillRopeTables, inverseFrequencies, parseRopeScaling, type RopeConfig } from '../../src/model/rope.js';

const base = { theta: 10000, headDim: 16, rotaryDim: 16, maxPositions: 64, positionsPerSecond: 1 };
const rope = (raw: Record<string, unknown> | null): RopeConfig => parseRopeScaling(raw, base, 'config.json');

function tables(r: RopeConfig, pos: number[][], seqLen = 1): { cos: Float32Array; sin: Float32Array } {
  const n = pos[0]!.length;
  const half = r.rotaryDim / 2;
  const cos = new Float32Array(n * half);
  const sin = new Float32Array(n * half);
  fillRopeTables(r, inverseFrequencies(r, seqLen), Int32Array.from(pos.flat()), n, 0, n, cos, sin);
  return { cos, sin };
}

describe('RoPE frequencies', () => {
  it('default: 1 / theta^(2i/d); linear divides by the factor', () => {
    const f = inverseFrequencies(rope(null), 1);
    for (let i = 0; i < 8; i++) expect(f[i]).toBeCloseTo(1 / 10000 ** ((2 * i) / 16), 12);
    const lin = inverseFrequencies(rope({ type: 'linear', factor: 4 }), 1);
    for (let i = 0; i < 8; i++) expect(lin[i]).toBeCloseTo(f[i]! / 4, 12);
  });

  it('dynamic NTK: unchanged within max positions, larger base beyond', () => {
    const r = rope({ rope_type: 'dynamic', factor: 2 });
    const f = inverseFrequencies(rope(null), 1);
    expect(Array.from(inverseFrequencies(r, 64))).toEqual(Array.from(f));
    const long = inverseFrequencies(r, 256);
    const theta = 10000 * ((2 * 256) / 64 - 1) ** (16 / 14);
    expect(long[3]).toBeCloseTo(1 / theta ** (6 / 16), 12);
    expect(long[0]).toBe(1);
  });

  it('llama3: high frequencies kept, low ones divided by the factor, the middle smoothed', () => {
    const r = parseRopeScaling(
      { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
      { theta: 500000, headDim: 128, rotaryDim: 128, maxPositions: 131072, positionsPerSecond: 1 },
      'config.json',
    );
    const plain = inverseFrequencies({ ...r, scaling: { type: 'default' } }, 1);
    const f = inverseFrequencies(r, 1);
    expect(f[0]).toBe(plain[0]);
    expect(f[63]).toBeCloseTo(plain[63]! / 8, 15);
    let sawMiddle = false;
    for (let i = 0; i < 64; i++) {
      const ratio = f[i]! / plain[i]!;
      expect(ratio).toBeGreaterThanOrEqual(1 / 8 - 1e-12);
      expect(ratio).toBeLessThanOrEqual(1 + 1e-12);
      if (ratio > 0.13 && ratio < 0.99) sawMiddle = true;
    }
    expect(sawMiddle).toBe(true);
  });

  it('rejects unknown scalings and bad mrope sections naming the field', () => {
    expect(() => rope({ type: 'yarn-x', factor: 2 })).toThrow(/config\.json: rope_scaling\.type "yarn-x" is not supported/);
    expect(() => rope({ type: 'linear' })).toThrow(/rope_scaling\.factor must be a number > 0/);
    expect(() => rope({ type: 'mrope', mrope_section: [2, 2, 2] })).toThrow(/mrope_section sums to 6; expected rotary dim \/ 2 = 8/);
  });
});

describe('RoPE tables', () => {
  it('make q·k depend only on the position difference (rotate-half layout)', () => {
    const r = rope(null);
    const q = Float32Array.from({ length: 16 }, (_, i) => Math.sin(i + 1));
    const k = Float32Array.from({ length: 16 }, (_, i) => Math.cos(3 * i));
    const dotAt = (m: number, n: number): number => {
      const a = q.slice();
      const b = k.slice();
      const tq = tables(r, [[m]]);
      const tk = tables(r, [[n]]);
      referenceRope(a, 1, 1, 16, 16, tq.cos, tq.sin);
      referenceRope(b, 1, 1, 16, 16, tk.cos, tk.sin);
      return a.reduce((s, x, i) => s + x * b[i]!, 0);
    };
    expect(dotAt(7, 3)).toBeCloseTo(dotAt(24, 20), 4);
    expect(Math.abs(dotAt(7, 3) - dotAt(7, 5))).toBeGreaterThan(1e-3);
  });

  it('mrope equals 1-D RoPE when the three ids agree, and reads each section from its axis', () => {
    const m = rope({ type: 'mrope', mrope_section: [2, 3, 3] });
    const flat = tables(rope(null), [[0, 5, 9]]);
    const same = tables(m, [[0, 5, 9], [0, 5, 9], [0, 5, 9]]);
    expect(Array.from(same.cos)).toEqual(Array.from(flat.cos));
    const mixed = tables(m, [[1, 1, 1], [4, 4, 4], [6, 6, 6]]);
    const f = inverseFrequencies(m, 1);
    const expectAxis = [1, 1, 4, 4, 4, 6, 6, 6];
    for (let i = 0; i < 8; i++) expect(mixed.cos[i]).toBeCloseTo(Math.cos(expectAxis[i]! * f[i]!), 6);
  });

  it('configs: Qwen2-VL text_config nesting, Qwen2.5-Omni thinker and partial rotary', () => {
    const text = { hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 100 };
    const vl = parseModelConfig({ model_type: 'qwen2_5_vl', text_config: { ...text, rope_scaling: { type: 'default', mrope_section: [2, 3, 3] } }, vision_config: { tokens_per_second: 2 } });
    expect(vl.family).toBe('qwen2');
    expect(vl.qkvBias).toBe(true);
    expect(vl.rope.mropeSection).toEqual([2, 3, 3]);
    expect(vl.rope.positionsPerSecond).toBe(2);
    expect(vl.layouts[0]!.prefix).toBe('model.language_model.');
    const omni = parseModelConfig({ model_type: 'qwen2_5_omni', thinker_config: { position_id_per_seconds: 25, text_config: { ...text, rope_scaling: { mrope_section: [2, 3, 3], rope_type: 'default' } } } });
    expect(omni.layouts).toEqual([{ prefix: 'thinker.model.', lmHead: 'thinker.lm_head.weight' }]);
    expect(omni.rope.positionsPerSecond).toBe(25);
    expect(omni.foreignPrefixes).toContain('thinker.audio_tower.');
    const partial = parseModelConfig({ model_type: 'llama', ...text, partial_rotary_factor: 0.5 });
    expect(partial.rope.rotaryDim).toBe(8);
    expect(() => parseModelConfig({ model_type: 'llama', ...text, num_key_value_heads: 3 }, 'x/config.json')).toThrow(/x\/config\.json: num_attention_heads 4 must be a multiple of num_key_value_heads 3/);
    expect(() => parseModelConfig({ model_type: 'llama', ...text, hidden_size: 'big' }, 'x/config.json')).toThrow(/x\/config\.json: hidden_size:/);
  });
});
