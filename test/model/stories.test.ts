/**
 * The runtime on a real pretrained checkpoint (stories260K): coherent greedy text, prefill
 * and decode agreeing, TS vs native backend logits, and SnapKV's fidelity to the full cache.
 */
import { describe, expect, it } from 'vitest';
import { Decoder } from '../../src/model/decoder.js';
import { embedPrompt } from '../../src/model/embed-prompt.js';
import { fidelity } from '../../src/model/fidelity.js';
import { generate } from '../../src/model/generate.js';
import { loadModel, type Model } from '../../src/model/model.js';
import { createPolicy } from '../../src/model/policy-for-model.js';
import { LONG_STORY, nativeCpuBackend, STORIES_DIR } from './fixtures.js';

const model = loadModel(STORIES_DIR);
const native = await nativeCpuBackend();

/** Logits at every position of `ids` (teacher-forced): a prefill of `prefillLen` tokens, then one decode step per token. */
function teacherForced(m: Model, ids: number[], prefillLen: number): Float32Array[] {
  const dec = new Decoder(m);
  const seq = dec.open();
  const out = [dec.prefill(seq, embedPrompt(m, { segments: [{ kind: 'tokens', ids: ids.slice(0, prefillLen) }], addBos: false })).slice()];
  for (let i = prefillLen; i < ids.length; i++) out.push(dec.decodeOne(seq, ids[i]!).slice());
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

describe('stories260K', () => {
  it('greedy generation from BOS alone opens a coherent story', () => {
    const r = generate(model, { segments: [] }, { maxNewTokens: 40 });
    console.log(`stories260K greedy from BOS: ${JSON.stringify(r.text)}`);
    expect(r.text.startsWith('Once upon a time, there was a little girl named Lily.')).toBe(true);
    expect(r.promptTokens).toBe(1);
    expect(r.tokens.length).toBe(40);
  });

  it('tokenizer round-trips text and prepends the dummy-prefix space as SentencePiece does', () => {
    const ids = model.tokenizer.encode('Lily had a café.');
    expect(model.tokenizer.decode(ids)).toBe('Lily had a café.');
    // tok512_vocab.json: 403 ' Once', 407 ' upon', 261 ' a', 378 ' time' (the dummy prefix makes 'Once' → ' Once').
    expect(model.tokenizer.encode('Once upon a time')).toEqual([403, 407, 261, 378]);
  });

  it('sampling is deterministic per seed; top-p → 0 is greedy', () => {
    const opts = { maxNewTokens: 30, temperature: 1, topP: 0.95 };
    const a = generate(model, { segments: [] }, { ...opts, seed: 1 });
    const b = generate(model, { segments: [] }, { ...opts, seed: 1 });
    const c = generate(model, { segments: [] }, { ...opts, seed: 2 });
    expect(a.tokens).toEqual(b.tokens);
    expect(a.tokens).not.toEqual(c.tokens);
    const greedy = generate(model, { segments: [] }, { maxNewTokens: 30 });
    const nucleus = generate(model, { segments: [] }, { maxNewTokens: 30, temperature: 1, topP: 1e-6, seed: 5 });
    expect(nucleus.tokens).toEqual(greedy.tokens);
  });

  it('stops at a stop token and excludes it', () => {
    const greedy = generate(model, { segments: [] }, { maxNewTokens: 10 });
    const stop = greedy.tokens[5]!;
    const r = generate(model, { segments: [] }, { maxNewTokens: 10, stop: [stop] });
    expect(r.stopReason).toBe('stop');
    expect(r.tokens).toEqual(greedy.tokens.slice(0, greedy.tokens.indexOf(stop)));
  });

  it('batched prefill and token-by-token decode give the same logits (full cache)', () => {
    const ids = [1, ...model.tokenizer.encode('Once upon a time, there was a big dog named Max.')];
    const stepwise = teacherForced(model, ids, 1);
    const batched = teacherForced(model, ids, ids.length);
    expect(maxAbsDiff(stepwise[stepwise.length - 1]!, batched[0]!)).toBeLessThan(1e-4);
  });

  it.skipIf(!native)('teacher-forced logits agree between the TS and the native CPU backend to 1e-4', () => {
    const ids = [1, ...model.tokenizer.encode(LONG_STORY)].slice(0, 200);
    const ts = teacherForced(model, ids, 120);
    const cpu = teacherForced({ ...model, backend: native! }, ids, 120);
    let worst = 0;
    for (let i = 0; i < ts.length; i++) worst = Math.max(worst, maxAbsDiff(ts[i]!, cpu[i]!));
    console.log(`TS vs native CPU: max |Δlogit| = ${worst.toExponential(2)} over ${ts.length} positions`);
    expect(worst).toBeLessThan(1e-4);
  });

  it('SnapKV at 50 % keeps top-1 agreement with the full cache above 90 % on a long story', () => {
    const ids = [1, ...model.tokenizer.encode(LONG_STORY)];
    const split = Math.floor(ids.length * 0.6);
    const r = fidelity(model, ids, split, { policy: createPolicy(model, 'snapkv'), budget: { ratio: 0.5 } });
    console.log(
      `SnapKV 50 % on ${ids.length} tokens (prompt ${split}): top-1 agreement ${(100 * r.top1Agreement).toFixed(1)} %, mean KL ${r.meanKL.toFixed(4)} nats, ` +
        `KV ${r.policyBytes.kvBytes} B vs full ${r.fullBytes.kvBytes} B`,
    );
    expect(r.policyBytes.kvBytes).toBe(Math.round(0.5 * split) * 2 * 5 * 4 * 8 * 4);
    expect(r.fullBytes.kvBytes).toBe(split * 2 * 5 * 4 * 8 * 4);
    expect(r.top1Agreement).toBeGreaterThan(0.9);
    expect(r.meanKL).toBeGreaterThan(0);
  });

  it('a budget of one token per head degrades fidelity (the comparison can fail)', () => {
    const ids = [1, ...model.tokenizer.encode(LONG_STORY)].slice(0, 240);
    const r = fidelity(model, ids, 200, { policy: createPolicy(model, 'snapkv', { window: 1 }), budget: { tokens: 1 } });
    expect(r.top1Agreement).toBeLessThan(0.9);
    expect(r.meanKL).toBeGreaterThan(0.05);
  });
});
