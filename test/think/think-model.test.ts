/**
 * ThinK + SnapKV end to end on the real stories260K checkpoint (5 layers, 8 query heads over 4
 * KV heads, head_dim 8): the same slots as SnapKV alone, K/V bytes smaller by exactly the
 * pruned key channels, ratio 0 decoding exactly as SnapKV, pruning changing the logits only
 * a little, and the native CPU backend making the same plans as the TS reference.
 */
import { describe, expect, it } from 'vitest';
import type { ComputeBackend } from '../../src/attention/backend.js';
import { tsBackend } from '../../src/attention/ts-backend.js';
import { Decoder } from '../../src/model/decoder.js';
import { embedPrompt } from '../../src/model/embed-prompt.js';
import { loadModel } from '../../src/model/model.js';
import { createPolicy } from '../../src/model/policy-for-model.js';
import { LONG_STORY, nativeCpuBackend, STORIES_DIR } from '../model/fixtures.js';

const SNAP = { window: 8, kernel: 3 };
const STEPS = 3;

function run(backend: ComputeBackend, policy: string, options: Record<string, unknown>) {
  const model = loadModel(STORIES_DIR, { backend });
  const prompt = embedPrompt(model, { segments: [{ kind: 'text', text: LONG_STORY.slice(0, 420) }] });
  const decoder = new Decoder(model);
  const budget = Math.floor(prompt.n / 3);
  const seq = decoder.open({ policy: createPolicy(model, policy, options), budget: { tokens: budget } });
  let logits = decoder.prefill(seq, prompt).slice();
  const bytes = seq.session.bytes();
  const out: Float32Array[] = [];
  for (let t = 0; t < STEPS; t++) out.push((logits = decoder.decodeOne(seq, argmax(logits)).slice()));
  return { seq, out, bytes, model, budget };
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

describe('ThinK over SnapKV on stories260K', () => {
  const snap = run(tsBackend, 'snapkv', SNAP);
  const think = run(tsBackend, 'think', { policy: 'snapkv', options: SNAP, ratio: 0.5, recent: 4 });

  it('keeps the same slots as SnapKV and saves exactly (d − dʹ)·4 bytes per pruned key slot', () => {
    const { numLayers, kvHeads, headDim } = snap.model.config;
    let pruned = 0;
    for (let l = 0; l < numLayers; l++) {
      const layer = think.seq.session.layer(l);
      const p = layer.prunedKeys()!;
      expect(p.keyDim).toBe(headDim / 2);
      for (let h = 0; h < kvHeads; h++) {
        expect(layer.headMeta(h).position).toEqual(snap.seq.session.layer(l).headMeta(h).position);
        expect(p.split[h]).toBe(think.budget - 4);
        pruned += p.split[h]!;
      }
    }
    expect(pruned).toBe(numLayers * kvHeads * (think.budget - 4));
    expect(snap.bytes.kvBytes - think.bytes.kvBytes).toBe(pruned * (headDim - headDim / 2) * 4);
    expect(think.bytes.slots).toBe(snap.bytes.slots);
  });

  it('ratio 0 decodes exactly as SnapKV; pruning half the key channels moves the logits a little', () => {
    const zero = run(tsBackend, 'think', { policy: 'snapkv', options: SNAP, ratio: 0 });
    zero.out.forEach((l, t) => expect(l, `step ${t}`).toEqual(snap.out[t]));
    expect(zero.bytes.kvBytes).toBe(snap.bytes.kvBytes);
    const scale = Math.max(...snap.out[0]!.map(Math.abs));
    const d = maxDiff(think.out[0]!, snap.out[0]!);
    expect(d).toBeGreaterThan(0);
    expect(d / scale).toBeLessThan(0.5);
    for (const l of think.out) expect(l.every(Number.isFinite)).toBe(true);
  });

  it('the native CPU backend makes the same plans and decodes to the same logits', async () => {
    const cpu = await nativeCpuBackend();
    if (!cpu) return;
    const nat = run(cpu, 'think', { policy: 'snapkv', options: SNAP, ratio: 0.5, recent: 4 });
    for (let l = 0; l < nat.model.config.numLayers; l++) {
      const a = nat.seq.session.layer(l);
      const b = think.seq.session.layer(l);
      expect(a.prunedKeys()!.channels).toEqual(b.prunedKeys()!.channels);
      for (let h = 0; h < a.kvHeads; h++) expect(a.headMeta(h).position).toEqual(b.headMeta(h).position);
    }
    expect(nat.bytes.kvBytes).toBe(think.bytes.kvBytes);
    nat.out.forEach((l, t) => expect(maxDiff(l, think.out[t]!), `step ${t}`).toBeLessThan(1e-3));
  });
});

function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}
