/**
 * The three flagship methods through the real CacheSession and the TS reference backend:
 * plans are applied physically, budgets hold, merged/kept rows are what the plan says,
 * and RetentiveKV's state sits behind the cache interface with its bytes counted.
 */
import { describe, expect, it } from 'vitest';
import { tsBackend } from '../../src/attention/ts-backend.js';
import { CacheSession } from '../../src/cache/cache-session.js';
import { ModalityCode } from '../../src/cache/modality.js';
import type { Schedule } from '../../src/cache/schedule.js';
import { allocTokenMeta, type TokenMeta } from '../../src/cache/token-meta.js';
import { policies } from '../../src/policies/catalog.js';
import { flowMMOptions, planFlowMM } from '../../src/policies/merging/flowmm.js';
import type { PolicyContext } from '../../src/cache/policy-api.js';
import { StateSpaceMemory } from '../../src/ssm/state-memory.js';
import { randomRows } from './layer-fixture.js';

const L = 2;
const QH = 4;
const KVH = 2;
const D = 8;
const { text, video, audio } = ModalityCode;
/** 4 text, a 4×4 video frame, 10 audio, 10 question text = 40 tokens. */
const PROMPT_MODALITY = [...new Array(4).fill(text), ...new Array(16).fill(video), ...new Array(10).fill(audio), ...new Array(10).fill(text)];
const N = PROMPT_MODALITY.length;

function promptMeta(start: number, modality: number[]): TokenMeta {
  const m = allocTokenMeta(modality.length);
  modality.forEach((x, i) => {
    const p = start + i;
    m.position[i] = p;
    m.modality[i] = x;
    if (x === video) [m.row[i], m.col[i], m.segment[i]] = [Math.floor((p - 4) / 4), (p - 4) % 4, 0];
    if (x === audio) m.segment[i] = 1;
  });
  return m;
}

function open(name: string, options: unknown, schedule: Schedule = { kind: 'after-prefill' }, budget = 12) {
  const policy = policies.create(name, options, { numLayers: L, kvHeads: KVH, qHeads: QH, headDim: D, seed: 0 });
  return new CacheSession({ numLayers: L, qHeads: QH, kvHeads: KVH, headDim: D, backend: tsBackend, policy, budget: { tokens: budget }, schedule });
}

/** Appends and attends `modality.length` tokens from position `start` in every layer. */
function forward(s: CacheSession, start: number, modality: number[], seed: number): Float32Array[] {
  const n = modality.length;
  const meta = promptMeta(start, modality);
  const qPos = Int32Array.from({ length: n }, (_, i) => start + i);
  return Array.from({ length: L }, (_, l) => {
    const k = randomRows(n * KVH, D, seed * 100 + l);
    // A shared component makes keys of the same modality alike, as real modalities are.
    for (let i = 0; i < n; i++) for (let h = 0; h < KVH; h++) k[(i * KVH + h) * D + modality[i]!]! += 1.2;
    s.append(l, k, randomRows(n * KVH, D, seed * 100 + l + 50), meta);
    return s.attend(l, randomRows(n * QH, D, seed * 100 + l + 70), qPos, Uint8Array.from(modality));
  });
}

function headRows(s: CacheSession, l: number, h: number) {
  const v = s.layer(l).view();
  return { keys: v.keys(h).slice(), values: v.values(h).slice(), meta: v.meta(h), len: v.length(h) };
}

describe('flagship methods through CacheSession + tsBackend', () => {
  it('FlowMM: B slots per head; untouched pivots (all sensitive ones) are bit-for-bit unchanged, targets are pivotal averages', () => {
    const s = open('flowmm', { nProxy: 4, theta: 0.2 });
    forward(s, 0, PROMPT_MODALITY, 1);
    const expected = Array.from({ length: L }, (_, l) => {
      const ctx = { view: s.layer(l).view(), stats: s.lastStats(l)!, phase: 'prefill', layer: l, numLayers: L, step: 0, promptLength: N, budget: 12, queryAware: true, random: Math.random } as PolicyContext;
      return { ...planFlowMM(ctx, flowMMOptions.parse({ nProxy: 4, theta: 0.2 })), before: [0, 1].map((h) => headRows(s, l, h)) };
    });
    s.endPrefill();
    let untouched = 0;
    for (let l = 0; l < L; l++) {
      const { plan, report, before } = expected[l]!;
      expect(report!.sensitive.every((c) => c > 0)).toBe(true);
      for (let h = 0; h < KVH; h++) {
        const after = headRows(s, l, h);
        const hp = plan!.heads[h]!;
        expect(after.len).toBe(12);
        const targets = new Set((hp.merges ?? []).map((m) => m.into));
        Array.from(hp.keep).forEach((slot, i) => {
          const same = (a: Float32Array, b: Float32Array) => a.subarray(slot * D, slot * D + D).every((x, t) => Object.is(x, b[i * D + t]));
          expect(after.meta.position[i]).toBe(slot);
          if (!targets.has(slot)) {
            expect(same(before[h]!.keys, after.keys) && same(before[h]!.values, after.values)).toBe(true);
            untouched++;
          } else {
            // Pivotal average (LOOK-M scatter-mean, target counted once): (k_t + Σ (k_e + k_t)/2) / (1 + n).
            const from = Array.from(hp.merges!.find((m) => m.into === slot)!.from);
            for (const [b, a] of [[before[h]!.keys, after.keys], [before[h]!.values, after.values]] as const) {
              for (let t = 0; t < D; t++) {
                const want = (b[slot * D + t]! + from.reduce((acc, e) => acc + (b[e * D + t]! + b[slot * D + t]!) / 2, 0)) / (1 + from.length);
                expect(a[i * D + t]).toBeCloseTo(want, 5);
              }
            }
            expect(after.meta.weight[i]).toBe(1 + from.length);
          }
        });
      }
    }
    expect(untouched).toBeGreaterThan(0);
    forward(s, N, [text], 9);
    s.endStep();
    expect(s.layer(0).length(0)).toBe(13); // prefill-only: decode tokens are appended
  });

  it('AccKV: text survives verbatim, media merge within their modality, budget never exceeded', () => {
    const s = open('acckv', { split: 'proportional' }, { kind: 'after-prefill' }, 20);
    forward(s, 0, PROMPT_MODALITY, 2);
    const before = Array.from({ length: L }, (_, l) => [0, 1].map((h) => headRows(s, l, h)));
    s.endPrefill();
    for (let l = 0; l < L; l++) {
      for (let h = 0; h < KVH; h++) {
        const after = headRows(s, l, h);
        expect(after.len).toBeLessThanOrEqual(20);
        let weight = 0;
        for (let i = 0; i < after.len; i++) {
          const slot = after.meta.position[i]!;
          expect(after.meta.modality[i]).toBe(PROMPT_MODALITY[slot]);
          if (PROMPT_MODALITY[slot] === text) {
            for (let t = 0; t < D; t++) expect(after.keys[i * D + t]).toBe(before[l]![h]!.keys[slot * D + t]);
          }
          weight += after.meta.weight[i]!;
        }
        const textCount = PROMPT_MODALITY.filter((m) => m === text).length;
        expect(after.meta.position.filter((p) => PROMPT_MODALITY[p] === text).length).toBe(textCount);
        expect(weight).toBeGreaterThan(after.len); // merged slots stand for several tokens
      }
    }
    expect(s.bytes().retentionBytes).toBe(0);
  });

  it('RetentiveKV: evicted slots enter the state, its bytes are counted, constant over streaming decode', () => {
    const s = open('retentivekv', { window: 4 }, { kind: 'over-budget' });
    forward(s, 0, PROMPT_MODALITY, 3);
    s.endPrefill();
    const store = (s as unknown as { retention: StateSpaceMemory }).retention;
    expect(store).toBeInstanceOf(StateSpaceMemory);
    const b0 = s.bytes();
    expect(b0.retentionBytes).toBe(store.bytes());
    expect(b0.retentionBytes).toBeGreaterThan(0);
    expect(b0.totalBytes).toBe(b0.kvBytes + b0.metaBytes + b0.retentionBytes);
    const written = () => {
      let w = 0;
      for (let l = 0; l < L; l++) for (let h = 0; h < KVH; h++) for (const k of [0, 1]) w += store.state(l, h, k)?.written ?? 0;
      return w;
    };
    const w0 = written();
    expect(w0).toBeGreaterThan(0);
    for (let t = 0; t < 8; t++) {
      const outs = forward(s, N + t, [text], 20 + t);
      for (const o of outs) expect(o.every(Number.isFinite)).toBe(true);
      s.endStep();
      expect(s.layer(0).length(0)).toBe(12);
    }
    const b1 = s.bytes();
    expect(written()).toBeGreaterThan(w0); // decode evictions are absorbed too
    expect(b1.retentionBytes).toBe(b0.retentionBytes); // same state size after 8 more tokens
    expect(b1.retentionBytes).toBe(store.bytes());
  });

  it('RetentiveKV readout changes decode outputs only when retrieval is on', () => {
    const outputs = (retrieval: string) => {
      const s = open('retentivekv', { window: 4, retrieval });
      forward(s, 0, PROMPT_MODALITY, 4);
      s.endPrefill();
      return forward(s, N, [text], 30);
    };
    const on = outputs('gated');
    const off = outputs('off');
    const ungated = outputs('ungated');
    const diff = (a: Float32Array[], b: Float32Array[]) => Math.max(...a.map((x, l) => Math.max(...x.map((v, i) => Math.abs(v - b[l]![i]!)))));
    expect(diff(on, off)).toBeGreaterThan(1e-3);
    expect(diff(ungated, on)).toBeGreaterThan(1e-4);
  });

  for (const budget of [0, 1]) {
    it(`every method survives budget ${budget} and keeps decoding`, () => {
      for (const [name, options] of [['acckv', {}], ['flowmm', { nProxy: 4 }], ['retentivekv', { window: 4 }]] as const) {
        const s = open(name, options, { kind: 'after-prefill' }, budget);
        forward(s, 0, PROMPT_MODALITY, 5);
        s.endPrefill();
        for (let l = 0; l < L; l++) for (let h = 0; h < KVH; h++) expect(s.layer(l).length(h), `${name} layer ${l} head ${h}`).toBeLessThanOrEqual(budget);
        const outs = forward(s, N, [text], 6);
        s.endStep();
        for (const o of outs) expect(o.every(Number.isFinite), name).toBe(true);
      }
    });
  }
});
