import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { Decoder, type ChunkReport } from '../../src/model/decoder.js';
import { embedPrompt } from '../../src/model/embed-prompt.js';
import { loadModel } from '../../src/model/model.js';
import { chunkEnds, promptUntil, slicePrompt } from '../../src/model/prefill-chunks.js';
import { createPolicy } from '../../src/model/policy-for-model.js';
import { avWorldSamples } from '../../src/datasets/av-world/index.js';
import { ModalityCode } from '../../src/cache/modality.js';
import { policies } from '../../src/policies/catalog.js';
import { policyTraits } from '../../src/policies/traits.js';
import { LONG_STORY, STORIES_DIR } from './fixtures.js';

const stories = loadModel(STORIES_DIR);
const organism = loadModel(fileURLToPath(new URL('../../models/av-organism', import.meta.url)));
const story = embedPrompt(stories, { segments: [{ kind: 'text', text: LONG_STORY }] });
const clip = embedPrompt(organism, avWorldSamples({ preset: 'tiny', split: 'test', count: 1 })[0]!.prompt);

describe('chunk ends', () => {
  it('cuts every `size` tokens, the last chunk short', () => {
    expect(chunkEnds({ ...story, n: 10 }, 4)).toEqual([4, 8, 10]);
    expect(chunkEnds({ ...story, n: 8 }, 4)).toEqual([4, 8]);
    expect(chunkEnds({ ...story, n: 3 }, 100)).toEqual([3]);
    expect(() => chunkEnds(story, 0)).toThrow(/integer ≥ 1 or "frame"/);
    expect(() => chunkEnds(story, 2.5)).toThrow(/integer ≥ 1/);
  });

  it('"frame" starts a chunk at every new video frame; its audio stays with it', () => {
    const ends = chunkEnds(clip, 'frame');
    const { modality, time } = clip.meta;
    const frames = new Set<number>();
    for (let i = 0; i < clip.n; i++) if (modality[i] === ModalityCode.video) frames.add(time[i]!);
    expect(ends.length).toBe(frames.size);
    expect(ends.at(-1)).toBe(clip.n);
    let start = 0;
    for (const end of ends) {
      const videoTimes = new Set<number>();
      for (let i = start; i < end; i++) if (modality[i] === ModalityCode.video) videoTimes.add(time[i]!);
      expect(videoTimes.size).toBe(1); // one frame per chunk
      if (end < clip.n) expect(modality[end]).toBe(ModalityCode.video); // the next chunk opens on a frame
      start = end;
    }
  });

  it('a text-only prompt is one "frame" chunk', () => {
    expect(chunkEnds(story, 'frame')).toEqual([story.n]);
  });
});

describe('promptUntil', () => {
  it('keeps the tokens before the first media token later than the time', () => {
    const t = 0.3;
    const cut = promptUntil(clip, t, 'sample x');
    expect(cut.n).toBeLessThan(clip.n);
    for (let i = 0; i < cut.n; i++) if (cut.meta.modality[i] !== ModalityCode.text) expect(cut.meta.time[i]!).toBeLessThanOrEqual(t);
    expect(clip.meta.time[cut.n]!).toBeGreaterThan(t);
    expect(cut.ropeNext).toBe(cut.n); // 1-D positions: the question continues right after the stream
  });

  it('refuses a time before the first media token, and a negative one', () => {
    // A stream whose media start at 1 s (time is NaN on text, which stays NaN).
    const late = { ...clip, meta: { ...clip.meta, time: clip.meta.time.map((t) => t + 1) } };
    expect(() => promptUntil(late, 0.5, 'sample x')).toThrow(/sample x: questionAt .* before the first media token/);
    expect(() => promptUntil(clip, -1, 'sample x')).toThrow(/sample x: questionAt must be a number of seconds ≥ 0/);
  });

  it('slicePrompt refuses empty and out-of-range slices', () => {
    expect(() => slicePrompt(story, 3, 3)).toThrow(/not a non-empty range/);
    expect(() => slicePrompt(story, 0, story.n + 1)).toThrow(/not a non-empty range/);
  });
});

describe('chunked prefill', () => {
  it('without holding, chunks give the one-pass logits and cache (stories260K)', () => {
    const dec = new Decoder(stories);
    const one = dec.open({ policy: null });
    const ref = dec.prefill(one, story).slice();
    const chunked = dec.open({ policy: null });
    const logits = dec.prefill(chunked, story, { ends: chunkEnds(story, 37), hold: false });
    expect(chunked.length).toBe(story.n);
    for (let i = 0; i < ref.length; i++) expect(logits[i]).toBeCloseTo(ref[i]!, 4);
    expect(chunked.session.bytes()).toEqual(one.session.bytes());
  });

  it('holding at budget keeps every chunk within budget + one chunk and ends at the one-pass budget', () => {
    const dec = new Decoder(stories);
    const budget = { ratio: 0.2 };
    const opts = () => ({ policy: createPolicy(stories, 'h2o'), budget });
    const onePass = dec.open(opts());
    dec.prefill(onePass, story);
    const reports: ChunkReport[] = [];
    const seq = dec.open(opts());
    dec.prefill(seq, story, { ends: chunkEnds(story, 32), hold: true, onChunk: (r) => reports.push(r) });
    const c = stories.config;
    const perToken = 2 * c.numLayers * c.kvHeads * c.headDim * 4;
    const kept = Math.round(0.2 * story.n);
    expect(reports.length).toBe(Math.ceil(story.n / 32));
    for (const r of reports.slice(0, -1)) {
      expect(r.kvBytesAfter).toBeLessThanOrEqual(kept * perToken);
      expect(r.kvBytesBefore).toBeLessThanOrEqual((kept + 32) * perToken);
    }
    // Compression started once the prefill passed the budget, and held it there.
    expect(reports.some((r) => r.kvBytesAfter < r.kvBytesBefore)).toBe(true);
    expect(seq.session.bytes().kvBytes).toBe(kept * perToken);
    expect(seq.session.bytes().kvBytes).toBe(onePass.session.bytes().kvBytes);
    expect(seq.session.budgets()).toEqual(onePass.session.budgets());
  });

  it('a layer allocator streamed sees the whole prompt\'s length: PyramidKV gets its one-pass pyramid, not the short-prompt fallback', () => {
    const dec = new Decoder(stories);
    const opts = () => ({ policy: createPolicy(stories, 'pyramidkv'), budget: { ratio: 0.2 } });
    const onePass = dec.open(opts());
    dec.prefill(onePass, story);
    const streamed = dec.open(opts());
    dec.prefill(streamed, story, { ends: chunkEnds(story, 16), hold: true });
    expect(new Set(onePass.session.budgets()).size).toBeGreaterThan(1); // a pyramid, not uniform
    expect(streamed.session.budgets()).toEqual(onePass.session.budgets());
  });

  it('a streamed prefill under a policy differs from the one-pass one (the policy acted mid-stream)', () => {
    const dec = new Decoder(stories);
    const opts = () => ({ policy: createPolicy(stories, 'snapkv'), budget: { ratio: 0.2 } });
    const a = dec.prefill(dec.open(opts()), story).slice();
    const b = dec.prefill(dec.open(opts()), story, { ends: chunkEnds(story, 32), hold: true });
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    expect(diff).toBeGreaterThan(1e-3);
  });

  it('refuses bad chunk ends, a second prefill, and holding after the prefill ended', () => {
    const dec = new Decoder(stories);
    expect(() => dec.prefill(dec.open(), story, { ends: [10, 5, story.n], hold: false })).toThrow(/ascend strictly/);
    expect(() => dec.prefill(dec.open(), story, { ends: [10], hold: false })).toThrow(/ascend strictly .* 1?\d+ tokens/);
    const seq = dec.open({ policy: createPolicy(stories, 'h2o'), budget: { ratio: 0.5 } });
    dec.prefill(seq, story);
    expect(() => seq.session.holdAtBudget(story.n)).toThrow(/endPrefill\(\) was already called/);
    expect(() => dec.extend(seq, story)).toThrow(/ended its prefill/);
  });
});

describe('every policy of the catalogue streams', () => {
  // Options that depend on the model (FastV's layer) keep their defaults: the organism has 4 layers.
  const ends = chunkEnds(clip, 'frame');
  const c = organism.config;
  const perSlot = 2 * c.headDim * 4;
  const streams = policies.names().filter((n) => !policyTraits(policies.get(n)).secondPass);
  it.each(streams)('%s holds the cache at budget after every frame and ends there', (name) => {
    const dec = new Decoder(organism);
    const seq = dec.open({ policy: createPolicy(organism, name), budget: { ratio: 0.2 }, queryAware: false });
    const reports: ChunkReport[] = [];
    dec.prefill(seq, clip, { ends, hold: true, onChunk: (r) => reports.push(r) });
    const budgetSlots = seq.session.budgets().reduce((a, b) => a + b, 0) * c.kvHeads;
    for (const r of reports.slice(0, -1)) expect(r.kvBytesAfter).toBeLessThanOrEqual(budgetSlots * perSlot);
    expect(seq.session.bytes().slots).toBeLessThanOrEqual(budgetSlots);
  });

  // A second pass (KVzip) reads the whole uncompressed context: a stream that compresses as it goes cannot give it one.
  it.each(policies.names().filter((n) => !streams.includes(n)))('%s (second pass) refuses a held stream, naming why', (name) => {
    const dec = new Decoder(organism);
    const seq = dec.open({ policy: createPolicy(organism, name), budget: { ratio: 0.2 }, queryAware: false });
    expect(() => dec.prefill(seq, clip, { ends, hold: true })).toThrow(/second pass/);
  });
});
