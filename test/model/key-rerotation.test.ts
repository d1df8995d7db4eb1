/**
 * Key rerotation (the `key-rerotation` policy wrapper, CacheSession's rewrite after prefill,
 * Sequence.ropeNext): re-rotated keys are exactly the keys the model computes at the new
 * positions, a full cache is left unchanged, and decoding continues at k over the rewritten cache.
 */
import { describe, expect, it } from 'vitest';
import { referenceRope } from '../../src/attention/reference-ops.js';
import { tsBackend } from '../../src/attention/ts-backend.js';
import { CacheSession } from '../../src/cache/cache-session.js';
import { allocTokenMeta } from '../../src/cache/token-meta.js';
import { Decoder } from '../../src/model/decoder.js';
import { embedPrompt } from '../../src/model/embed-prompt.js';
import { loadModel } from '../../src/model/model.js';
import { createPolicy } from '../../src/model/policy-for-model.js';
import { fillRopeTables, inverseFrequencies, parseRopeScaling } from '../../src/model/rope.js';
import type { Sequence } from '../../src/model/sequence.js';
import { policies } from '../../src/policies/catalog.js';
import type { PolicyEnv } from '../../src/policies/registry.js';
import { randomNormalArray } from '../../src/util/random.js';
import { LONG_STORY, STORIES_DIR } from './fixtures.js';

describe('re-rotated keys are the keys computed at their new positions', () => {
  // Partial rotary: 6 of 8 dims rotate, as rope.ts and the backends apply it.
  const rope = parseRopeScaling(null, { theta: 100, headDim: 8, rotaryDim: 6, maxPositions: 64, positionsPerSecond: 1 }, 'config.json');
  const shape = { numLayers: 2, kvHeads: 2, qHeads: 2, headDim: 8 };
  const env: PolicyEnv = { ...shape, seed: 0, rope: { rotaryDim: 6, axes: 1, inverseFrequencies: (n) => inverseFrequencies(rope, n) } };
  const n = 12;
  /** Keys of tokens at positions pos [n] rotated by the model's RoPE: [n][kvHeads][headDim]. */
  const rotated = (raw: Float32Array, pos: number[]) => {
    const k = raw.slice();
    const cos = new Float32Array(pos.length * 3);
    const sin = new Float32Array(pos.length * 3);
    fillRopeTables(rope, inverseFrequencies(rope, n), Int32Array.from(pos), pos.length, 0, pos.length, cos, sin);
    referenceRope(k, pos.length, shape.kvHeads, shape.headDim, rope.rotaryDim, cos, sin);
    return k;
  };
  const run = (policy: string, options: Record<string, unknown>, budget: number) => {
    const s = new CacheSession({ ...shape, backend: tsBackend, policy: policies.create(policy, options, env), budget: { tokens: budget }, schedule: { kind: 'after-prefill' } });
    const raw = Array.from({ length: shape.numLayers }, (_, l) => randomNormalArray(n * shape.kvHeads * shape.headDim, 40 + l));
    const meta = allocTokenMeta(n);
    meta.position.set(Array.from({ length: n }, (_, i) => i));
    const positions = Array.from({ length: n }, (_, i) => i);
    for (let l = 0; l < shape.numLayers; l++) s.append(l, rotated(raw[l]!, positions), randomNormalArray(n * shape.kvHeads * shape.headDim, 90 + l), meta);
    s.endPrefill();
    return { s, raw };
  };

  it('each kept key equals its pre-RoPE key rotated at its rank (KeyDiff keeps different slots per head)', () => {
    const { s, raw } = run('key-rerotation', { policy: 'keydiff' }, 5);
    const d = shape.headDim;
    let moved = 0;
    for (let l = 0; l < shape.numLayers; l++) {
      for (let h = 0; h < shape.kvHeads; h++) {
        const cache = s.layer(l);
        const len = cache.length(h);
        expect(len).toBe(5);
        const kept = Array.from(cache.headMeta(h).position);
        // The sequence positions are unchanged (the causal mask's order, the kept prompt tokens).
        expect(kept).toEqual([...kept].sort((a, b) => a - b));
        const keys = cache.decodeHead('keys', h);
        for (let i = 0; i < len; i++) {
          // The model's key for token kept[i] had it sat at position i.
          const pre = raw[l]!.slice((kept[i]! * shape.kvHeads + h) * d, (kept[i]! * shape.kvHeads + h + 1) * d);
          const want = rotated(pre, [i]);
          for (let c = 0; c < d; c++) expect(keys[i * d + c]).toBeCloseTo(want[c]!, 5);
          if (kept[i] !== i) moved++;
        }
      }
    }
    expect(moved).toBeGreaterThan(0);
    expect(s.ropeShift).toBe(n - 5);
  });

  it('without eviction nothing moves: the keys are bit-identical to the plain policy’s', () => {
    const { s: a } = run('key-rerotation', { policy: 'keydiff' }, n);
    const { s: b } = run('keydiff', {}, n);
    for (let l = 0; l < shape.numLayers; l++) for (let h = 0; h < shape.kvHeads; h++) expect(a.layer(l).decodeHead('keys', h)).toEqual(b.layer(l).decodeHead('keys', h));
    expect(a.ropeShift).toBe(0);
  });

  it('refuses what it cannot rotate exactly, naming why', () => {
    expect(() => policies.create('key-rerotation', { policy: 'snapkvv' }, env)).toThrow(/policies\.key-rerotation\.policy: unknown policy "snapkvv"; did you mean "snapkv"/);
    expect(() => policies.create('key-rerotation', { policy: 'snapkv', options: { windw: 4 } }, env)).toThrow(/policies\.key-rerotation\.options: invalid options for policy "snapkv": .*windw/);
    expect(() => policies.create('key-rerotation', { policy: 'key-rerotation' }, env)).toThrow(/cannot wrap itself/);
    expect(() => policies.create('key-rerotation', {}, { ...env, rope: { ...env.rope!, axes: 3 } })).toThrow(/only 1-D RoPE is supported; .*sectioned multimodal RoPE/);
    expect(() => policies.create('key-rerotation', {}, { ...shape, seed: 0 })).toThrow(/needs the model’s RoPE \(PolicyEnv\.rope\)/);
    const dynamic = { ...env, rope: { ...env.rope!, inverseFrequencies: (len: number) => Float64Array.from([1, 0.1, 0.01], (f) => (len > 4 ? f / 2 : f)) } };
    const s = new CacheSession({ ...shape, backend: tsBackend, policy: policies.create('key-rerotation', { policy: 'keydiff' }, dynamic), budget: { tokens: 2 } });
    const meta = allocTokenMeta(n);
    meta.position.set(Array.from({ length: n }, (_, i) => i));
    for (let l = 0; l < shape.numLayers; l++) s.append(l, randomNormalArray(n * 16, l), randomNormalArray(n * 16, l + 9), meta);
    expect(() => s.endPrefill()).toThrow(/depend on the sequence length .*not be exact/);
    const q = new CacheSession({ ...shape, backend: tsBackend, policy: policies.create('key-rerotation', { policy: 'keydiff' }, env), budget: { tokens: 2 }, storage: 'int8-fp8' });
    for (let l = 0; l < shape.numLayers; l++) q.append(l, randomNormalArray(n * 16, l), randomNormalArray(n * 16, l + 9), meta);
    expect(() => q.endPrefill()).toThrow(/layer 0: key rerotation rewrites the keys, which storage "int8-fp8" holds as codes/);
  });
});

describe('decoding after a rerotation (stories260K)', () => {
  const model = loadModel(STORIES_DIR);
  const prompt = embedPrompt(model, { segments: [{ kind: 'text', text: LONG_STORY.slice(0, 400) }] });
  const decode = (policy: string | null, options: Record<string, unknown>, budget: number, steps = 4) => {
    const decoder = new Decoder(model);
    const seq: Sequence = decoder.open(policy ? { policy: createPolicy(model, policy, options), budget: { tokens: budget } } : { policy: null });
    let logits = decoder.prefill(seq, prompt).slice();
    const after = { length: seq.length, ropeNext: seq.ropeNext };
    const out: Float32Array[] = [logits];
    for (let t = 0; t < steps; t++) out.push((logits = decoder.decodeOne(seq, argmaxOf(logits)).slice()));
    return { out, after, seq };
  };

  it('a full cache with rerotation decodes exactly as the full cache', () => {
    const full = decode(null, {}, 0);
    const rr = decode('key-rerotation', { policy: 'snapkv', options: { window: 8 } }, prompt.n);
    expect(rr.after).toEqual({ length: prompt.n, ropeNext: prompt.n });
    rr.out.forEach((l, t) => expect(l, `step ${t}`).toEqual(full.out[t]));
  });

  it('with evictions, decoding continues at k and differs from the un-rotated cache', () => {
    const budget = Math.floor(prompt.n / 3);
    const plain = decode('snapkv', { window: 8 }, budget);
    const rr = decode('key-rerotation', { policy: 'snapkv', options: { window: 8 } }, budget);
    // The prefill logits come before compression; the first decode reads the compressed cache.
    expect(rr.out[0]).toEqual(plain.out[0]);
    expect(rr.after).toEqual({ length: prompt.n, ropeNext: budget }); // uniform budget: every head holds k = budget
    expect(rr.seq.ropeNext).toBe(budget + 4);
    expect(rr.seq.length).toBe(prompt.n + 4);
    for (const l of rr.out) expect(l.every(Number.isFinite)).toBe(true);
    const maxDiff = Math.max(...rr.out[1]!.map((x, i) => Math.abs(x - plain.out[1]![i]!)));
    expect(maxDiff).toBeGreaterThan(1e-3);
    // The same slots were kept: only their rotation differs.
    for (let l = 0; l < model.config.numLayers; l++) expect(rr.seq.session.layer(l).headMeta(0).position).toEqual(plain.seq.session.layer(l).headMeta(0).position);
  });
});

function argmaxOf(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}
