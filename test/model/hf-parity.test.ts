/**
 * Parity with Hugging Face transformers: tiny Llama / Qwen2 models (GQA, untied and tied
 * heads, q/k/v biases, bf16 weights, llama3 / linear / dynamic RoPE scaling) and a Qwen2-VL
 * text backbone with an image span under sectioned mrope. reference.json holds the logits
 * transformers computed for the last 4 positions (make_reference.py); the weights are
 * regenerated here from the same seeds. Our last 4 logits come from a prefill of the first
 * 9 tokens plus 3 decode steps, so both paths are checked (dynamic RoPE: one 12-token prefill,
 * because HF rescales the whole forward by its length).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Decoder } from '../../src/model/decoder.js';
import { embedPrompt } from '../../src/model/embed-prompt.js';
import { initModel } from '../../src/model/init-model.js';
import { loadModel, type Model } from '../../src/model/model.js';
import type { Prompt } from '../../src/model/prompt.js';
import { PARITY_MODELS, PARITY_STD, PARITY_TOKENS, readReference, writeParityModels } from './hf-reference/models.js';

const tmp = mkdtempSync(join(tmpdir(), 'kvprism-hf-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const reference = readReference();
const dirs = writeParityModels(tmp);

/** Logits of the last `count` positions: prefill all but count−1 segments' tokens, then decode the rest. */
function lastLogits(m: Model, head: Prompt, tail: number[]): Float32Array[] {
  const dec = new Decoder(m);
  const seq = dec.open();
  const out = [dec.prefill(seq, embedPrompt(m, head)).slice()];
  for (const t of tail) out.push(dec.decodeOne(seq, t).slice());
  return out;
}

function expectClose(ours: Float32Array[], theirs: number[][], label: string): void {
  let worst = 0;
  let scale = 0;
  ours.forEach((row, p) => row.forEach((x, v) => {
    worst = Math.max(worst, Math.abs(x - theirs[p]![v]!));
    scale = Math.max(scale, Math.abs(theirs[p]![v]!));
  }));
  console.log(`${label}: max |Δlogit| vs transformers = ${worst.toExponential(2)} (max |logit| ${scale.toFixed(2)})`);
  expect(worst).toBeLessThan(1e-4 * Math.max(1, scale));
}

describe('parity with Hugging Face transformers', () => {
  for (const pm of PARITY_MODELS) {
    it(`${pm.name}: last-position logits match`, () => {
      const ref = reference[pm.name];
      expect(ref, `reference.json has no entry for ${pm.name}; rerun make_reference.py`).toBeDefined();
      const m = loadModel(dirs.get(pm.name)!);
      const dynamic = pm.name.includes('dynamic');
      const split = dynamic ? PARITY_TOKENS.length : PARITY_TOKENS.length - 3;
      const ours = lastLogits(m, { segments: [{ kind: 'tokens', ids: PARITY_TOKENS.slice(0, split) }], addBos: false }, PARITY_TOKENS.slice(split));
      expectClose(ours, ref!.logits.slice(ref!.logits.length - ours.length), pm.name);
    });
  }

  it('qwen2-vl: an image span under mrope matches get_rope_index positions and the logits', () => {
    const ref = reference['qwen2-vl'] as { logits: number[][]; positions: number[][] } | undefined;
    expect(ref, 'reference.json has no qwen2-vl entry; rerun make_reference.py').toBeDefined();
    initModel({ preset: 'tiny-qwen2-vl', out: join(tmp, 'qwen2-vl'), seed: 18, std: PARITY_STD });
    const m = loadModel(join(tmp, 'qwen2-vl'));
    const H = m.config.hiddenSize;
    const image: Prompt['segments'][number] = {
      kind: 'embeddings',
      modality: 'image',
      n: 6,
      data: Float32Array.from({ length: 6 * H }, (_, k) => Math.sin(0.1 * k + 1) * 0.5),
      row: Int16Array.from([0, 0, 0, 1, 1, 1]),
      col: Int16Array.from([0, 1, 2, 0, 1, 2]),
    };
    const head: Prompt = { segments: [{ kind: 'tokens', ids: [5, 99, 17] }, image], addBos: false };
    const full = embedPrompt(m, { ...head, segments: [...head.segments, { kind: 'tokens', ids: [64, 128, 7] }] });
    for (let a = 0; a < 3; a++) expect(Array.from(full.ropePos.subarray(a * full.n, (a + 1) * full.n))).toEqual(ref!.positions[a]);
    expectClose(lastLogits(m, head, [64, 128, 7]), ref!.logits, 'qwen2-vl');
  });
});
