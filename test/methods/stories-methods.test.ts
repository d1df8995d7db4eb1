/**
 * The three flagship methods inside the real runtime on the pretrained stories260K checkpoint:
 * a prompt with text, an "image" span (6×6 grid) and an "audio" span (both spans are embedded
 * story tokens, so the model can use them) is prefilled, compressed, and decoded
 * teacher-forced along the full cache's greedy continuation. Reports KL(full ‖ method).
 */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { Decoder } from '../../src/model/decoder.js';
import { embedPrompt, embedToken } from '../../src/model/embed-prompt.js';
import { generate } from '../../src/model/generate.js';
import { loadModel, type Model } from '../../src/model/model.js';
import type { Prompt } from '../../src/model/prompt.js';
import { policies } from '../../src/policies/catalog.js';
import { RETENTIVEKV_EARLIER_READING } from '../../src/policies/retention/retentive-kv.js';
import { argmax, logSoftmax } from '../../src/model/sampling.js';
import type { Schedule } from '../../src/cache/schedule.js';

const STORIES_DIR = fileURLToPath(new URL('../../../shared/models/stories260K', import.meta.url));
const model = loadModel(STORIES_DIR);

function span(m: Model, text: string, n: number): Float32Array {
  const ids = m.tokenizer.encode(text).slice(0, n);
  if (ids.length < n) throw new Error(`span text has ${ids.length} tokens; need ${n}`);
  const h = m.config.hiddenSize;
  const out = new Float32Array(n * h);
  ids.forEach((id, i) => embedToken(m, id, out.subarray(i * h, (i + 1) * h)));
  return out;
}

const PROMPT: Prompt = {
  segments: [
    { kind: 'text', text: 'Once upon a time, there was a little girl named Lily.' },
    {
      kind: 'embeddings', modality: 'image', n: 36, segment: 0,
      row: Int16Array.from({ length: 36 }, (_, i) => Math.floor(i / 6)), col: Int16Array.from({ length: 36 }, (_, i) => i % 6),
      data: span(model, 'She lived in a small house with her mom and dad and her dog, Max. Every day, Lily and Max played in the big green park near their house. One sunny morning', 36),
    },
    { kind: 'embeddings', modality: 'audio', n: 20, segment: 1, data: span(model, 'Lily found a shiny red ball under a tree. She was very happy and showed it to Max.', 20) },
    { kind: 'text', text: 'Lily and Max went to the park. They' },
  ],
};

/** Teacher-forced next-token distributions of the method vs the full cache. */
function compare(policyName: string | null, options: unknown, schedule: Schedule, continuation: number[]) {
  const decoder = new Decoder(model);
  const embedded = embedPrompt(model, PROMPT);
  const c = model.config;
  const policy = policyName ? policies.create(policyName, options, { numLayers: c.numLayers, qHeads: c.qHeads, kvHeads: c.kvHeads, headDim: c.headDim, seed: 0 }) : null;
  const full = decoder.open({ policy: null });
  const comp = decoder.open({ policy, budget: { ratio: 0.4 }, schedule });
  // The decoder returns logits in a reused workspace: copy before the other sequence runs.
  let lf = decoder.prefill(full, embedded).slice();
  let lc = decoder.prefill(comp, embedded).slice();
  const bytes = comp.session.bytes();
  const fullBytes = full.session.bytes();
  const pf = new Float64Array(model.config.vocabSize);
  const pc = new Float64Array(model.config.vocabSize);
  let kl = 0;
  let agree = 0;
  for (const t of continuation) {
    logSoftmax(lf, pf);
    logSoftmax(lc, pc);
    let d = 0;
    for (let v = 0; v < pf.length; v++) d += Math.exp(pf[v]!) * (pf[v]! - pc[v]!);
    kl += d / continuation.length;
    agree += argmax(lf) === argmax(lc) ? 1 / continuation.length : 0;
    lf = decoder.decodeOne(full, t).slice();
    lc = decoder.decodeOne(comp, t).slice();
  }
  return { kl, agree, bytes, fullBytes, promptTokens: embedded.n };
}

describe('flagship methods on stories260K (real checkpoint, multimodal prompt)', () => {
  const continuation = generate(model, PROMPT, { maxNewTokens: 16 }).tokens;
  const after: Schedule = { kind: 'after-prefill' };
  const streaming: Schedule = { kind: 'over-budget' };
  const cases: [string, string, unknown, Schedule][] = [
    ['acckv', 'acckv', {}, after],
    ['acckv w/o C-C', 'acckv', { intraMerge: false, crossCalibration: false }, after],
    ['flowmm', 'flowmm', { nProxy: 8 }, after],
    ['flowmm w/o both', 'flowmm', { nProxy: 8, flowGuidance: false, sensitivityMatching: false }, after],
    ['retentivekv', 'retentivekv', { window: 8 }, after],
    ['retentivekv streaming', 'retentivekv', { window: 8 }, streaming],
    ['retentivekv w/o retrieval', 'retentivekv', { window: 8, retrieval: 'off' }, after],
    ['retentivekv unified state', 'retentivekv', { window: 8, states: 'unified' }, after],
    ['retentivekv w/o entropy', 'retentivekv', { window: 8, entropy: false }, after],
    ['retentivekv gateBias -4', 'retentivekv', { window: 8, gateBias: -4 }, after],
    ['retentivekv mass readout (earlier default)', 'retentivekv', { window: 8, combine: 'mass' }, after],
    ['retentivekv earlier reading', 'retentivekv', { window: 8, ...RETENTIVEKV_EARLIER_READING }, after],
  ];

  it('the full cache continues the story (the reference for every method)', () => {
    expect(continuation.length).toBe(16);
    const same = compare(null, {}, after, continuation);
    expect(same.kl).toBeLessThan(1e-9);
    expect(same.agree).toBe(1);
  });

  for (const [label, name, options, schedule] of cases) {
    it(`${label}: compresses to 40 % and stays close to the full cache`, () => {
      const r = compare(name, options, schedule, continuation);
      console.log(`stories260K ${label}: KL(full‖method) = ${r.kl.toFixed(4)} nats, top-1 agreement ${(100 * r.agree).toFixed(0)} %, kv ${r.bytes.kvBytes} / ${r.fullBytes.kvBytes} B, state ${r.bytes.retentionBytes} B`);
      const budget = Math.round(0.4 * r.promptTokens);
      const cfg = model.config;
      expect(r.bytes.kvBytes).toBeLessThanOrEqual(budget * cfg.numLayers * cfg.kvHeads * cfg.headDim * 4 * 2);
      expect(r.bytes.kvBytes).toBeLessThan(0.5 * r.fullBytes.kvBytes);
      expect(r.bytes.retentionBytes > 0).toBe(name === 'retentivekv' && (options as { retrieval?: string }).retrieval !== 'off');
      expect(Number.isFinite(r.kl)).toBe(true);
      expect(r.kl).toBeLessThan(5); // a broken cache (garbage rows, wrong slots) lands far above this
    });
  }
});
