import { describe, expect, it } from 'vitest';
import {
  avWorldSamples, clipForFamily, clipWithQuestions, FAMILIES, mediaTokens, PRESETS, sourceObject, withFrames,
  renderVideo, renderAudio, Rng, sampleScene, audioTokensPerFrame, SOUNDS, SHAPES, COLOURS, type Scene, type Question,
  audioFeatureDim, evidenceTokens, eventSource, avWorldClipQuestions,
} from '../../src/datasets/av-world/index.js';
import type { FeatureSegment } from '../../src/model/prompt.js';

/** Re-derives a question's answer from the scene description alone (independent of questions.ts). */
function expectedAnswer(q: Question, s: Scene): string {
  const words = q.text.split(' ');
  const sound = words.find((w) => (SOUNDS as readonly string[]).includes(w));
  const events = s.events.filter((e) => e.sound === sound);
  switch (q.family) {
    case 'av-visible': {
      expect(events).toHaveLength(1);
      const [f0, f1] = [events[0]!.onset / 10, (events[0]!.onset + events[0]!.duration) / 10];
      const visible = s.objects.filter((o) => o.start < f1 && o.end > f0);
      expect(visible).toHaveLength(1);
      return visible[0]!.shape;
    }
    case 'sound-order': {
      const named = words.filter((w) => (SOUNDS as readonly string[]).includes(w));
      const first = (x: string) => Math.min(...s.events.filter((e) => e.sound === x).map((e) => e.onset));
      return first(named[0]!) < first(named[1]!) ? named[0]! : named[1]!;
    }
    case 'sound-count': return ['one', 'two', 'three'][events.length - 1]!;
    case 'moved-object': {
      const movers = s.objects.filter((o) => o.rows.some((r, i) => r !== o.rows[0] || o.cols[i] !== o.cols[0]));
      expect(movers).toHaveLength(1);
      expect(s.objects.filter((o) => o.colour === movers[0]!.colour)).toHaveLength(1);
      return movers[0]!.colour;
    }
    case 'sound-source': {
      expect(events).toHaveLength(1);
      const ev = events[0]!;
      const t = ev.onset / 10;
      const visible = s.objects.filter((o) => o.start <= t && o.end > t);
      expect(visible).toHaveLength(2);
      const onSide = visible.filter((o) => (o.cols[0]! < 2 ? 'left' : 'right') === ev.pan);
      expect(onSide).toHaveLength(1);
      return onSide[0]!.shape;
    }
    case 'object-exists': {
      const [colour, shape] = words.slice(-3, -1);
      return s.objects.some((o) => o.colour === colour && o.shape === shape) ? 'yes' : 'no';
    }
  }
}

describe('av-world generator', () => {
  it('is deterministic per (preset, split, seed, index) and differs across seeds and splits', () => {
    const a = avWorldSamples({ preset: 'tiny', split: 'train', count: 6, seed: 3 });
    const b = avWorldSamples({ preset: 'tiny', split: 'train', count: 6, seed: 3 });
    const c = avWorldSamples({ preset: 'tiny', split: 'train', count: 6, seed: 4 });
    const d = avWorldSamples({ preset: 'tiny', split: 'test', count: 6, seed: 3 });
    const feats = (xs: typeof a) => xs.map((x) => (x.prompt.segments[0] as FeatureSegment).data);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    feats(a).forEach((f, i) => expect(Array.from(f)).toEqual(Array.from(feats(b)[i]!)));
    feats(a).forEach((f, i) => expect(Array.from(f)).not.toEqual(Array.from(feats(c)[i]!)));
    feats(a).forEach((f, i) => expect(Array.from(f)).not.toEqual(Array.from(feats(d)[i]!)));
  });

  it('poses every family with an answer that matches the scene description', () => {
    for (let i = 0; i < 60; i++) {
      const family = FAMILIES[i % FAMILIES.length]!;
      const { clip, question } = clipForFamily(withFrames(PRESETS.default, 8 + (i % 5) * 8), 'validation', 11, i, family);
      expect(question.family).toBe(family);
      expect(question.choices[question.answer]).toBe(expectedAnswer(question, clip.scene));
    }
    const { clip, questions } = clipWithQuestions(PRESETS.default, 'train', 2, 5);
    for (const q of questions) expect(q.choices[q.answer]).toBe(expectedAnswer(q, clip.scene));
  });

  it('renders the scene into real pixels and PCM that the front-ends see', () => {
    const p = PRESETS.tiny;
    const rng = new Rng(5);
    const scene = sampleScene(rng, p);
    const img = renderVideo(scene, p, rng);
    const o = scene.objects[0]!;
    const W = p.gridCols * p.cellPx;
    const centre = ((o.start * W + o.rows[0]! * p.cellPx + 4) * W + o.cols[0]! * p.cellPx + 4) * 3;
    expect(Math.max(img[centre]!, img[centre + 1]!, img[centre + 2]!)).toBeGreaterThan(0.5);
    const audio = renderAudio(scene, p, rng);
    const ev = scene.events[0]!;
    const energy = (a: number, b: number) => {
      let e = 0;
      for (let i = a; i < b; i++) e += audio.left[i]! ** 2 + audio.right[i]! ** 2;
      return e / (b - a);
    };
    const tok = p.hop * p.melPerToken;
    const inside = energy(ev.onset * tok, (ev.onset + ev.duration) * tok);
    expect(inside).toBeGreaterThan(100 * energy(0, Math.max(tok, Math.min(...scene.events.map((e) => e.onset)) * tok)));
    let l = 0;
    let r = 0;
    for (let i = ev.onset * tok; i < (ev.onset + ev.duration) * tok; i++) {
      l += audio.left[i]! ** 2;
      r += audio.right[i]! ** 2;
    }
    if (ev.pan === 'left') expect(l).toBeGreaterThan(4 * r);
    else if (ev.pan === 'right') expect(r).toBeGreaterThan(4 * l);
    else expect(l / r).toBeCloseTo(1, 0);
    const src = sourceObject(scene, ev, p.gridCols);
    expect(src === undefined || scene.objects[src]!.episode === ev.episode).toBe(true);
  });

  it('tags every token with modality, time and grid position; presets meet the size targets', () => {
    expect(mediaTokens(PRESETS.default)).toBeGreaterThanOrEqual(1000);
    expect(mediaTokens(PRESETS.long)).toBeGreaterThanOrEqual(4000);
    expect(PRESETS.default.frames * audioTokensPerFrame(PRESETS.default)).toBeGreaterThanOrEqual(200);
    const [s] = avWorldSamples({ preset: 'tiny', split: 'test', count: 1 });
    const spans = s!.prompt.segments.filter((x): x is FeatureSegment => x.kind === 'features');
    expect(spans).toHaveLength(2 * PRESETS.tiny.frames);
    for (const sp of spans) {
      expect(sp.data.length).toBe(sp.n * sp.featureDim);
      expect(sp.time).toHaveLength(sp.n);
      if (sp.modality === 'video') expect(Array.from(sp.row!)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
    }
    expect(spans[1]!.modality).toBe('audio');
    expect(spans[2]!.time![0]).toBeCloseTo(1 / PRESETS.tiny.fps);
    const last = s!.prompt.segments.at(-1)!;
    expect(last.kind === 'text' && last.text.endsWith('answer')).toBe(true);
    for (const c of [...SHAPES, ...COLOURS]) expect(c).not.toContain(' ');
  });

  it('names the evidence tokens of every question: they show what the answer is', () => {
    const p = withFrames(PRESETS.default, 24);
    const D = audioFeatureDim(p);
    for (let i = 0; i < 36; i++) {
      const family = FAMILIES[i % FAMILIES.length]!;
      const { clip, question } = clipForFamily(p, 'validation', 4, i, family);
      const ev = evidenceTokens(clip.scene, question.evidence, p);
      const answer = question.choices[question.answer]!;
      const { gridRows: R, gridCols: C } = p;
      // Every evidence patch is covered by an object with the answer's colour (moved) or both attributes (exists).
      for (const t of ev.video) {
        const f = Math.floor(t / (R * C));
        const o = clip.scene.objects.find((o) => f >= o.start && f < o.end && ((f * R + o.rows[f - o.start]!) * C + o.cols[f - o.start]!) === t);
        expect(o, `${family} patch ${t}`).toBeDefined();
        if (family === 'moved-object') expect(o!.colour).toBe(answer);
        if (family === 'object-exists') expect(question.text).toContain(`${o!.colour} ${o!.shape}`);
      }
      // Evidence audio tokens lie inside an event of the asked sound; onset tokens carry the onset feature.
      for (const t of ev.audio) {
        const e = clip.scene.events.find((e) => t >= e.onset && t < e.onset + e.duration);
        expect(e && question.text.includes(e.sound), `${family} audio ${t}`).toBe(true);
        if (question.evidence.onsetsOnly) expect(clip.audio[t * D + D - 2]).toBeGreaterThan(0.7);
      }
      if (family === 'sound-order') expect(clip.scene.events[question.evidence.events[0]!]!.sound).toBe(answer);
      if (family === 'sound-count') expect(ev.audio).toHaveLength(['one', 'two', 'three'].indexOf(answer) + 1);
      if (family === 'object-exists') expect(ev.video.length > 0).toBe(answer === 'yes');
      if (family === 'av-visible' || family === 'sound-source') {
        const src = clip.scene.objects[eventSource(clip.scene, question.evidence.events[0]!, C)]!;
        expect(src.shape).toBe(answer);
      }
    }
  });

  it('audio tokens carry an onset strength that marks event onsets only, and their time', () => {
    const p = withFrames(PRESETS.default, 24);
    const D = audioFeatureDim(p);
    const tokenSec = (p.hop * p.melPerToken) / p.sampleRate;
    for (let i = 0; i < 6; i++) {
      const { clip } = clipWithQuestions(p, 'test', 9, i);
      const onsets = new Set(clip.scene.events.map((e) => e.onset));
      const n = clip.audio.length / D;
      for (let t = 0; t < n; t++) {
        const v = clip.audio[t * D + D - 2]!;
        if (onsets.has(t)) expect(v, `onset ${t}`).toBeGreaterThan(0.7);
        else expect(v, `token ${t}`).toBeLessThan(0.35);
        expect(clip.audio[t * D + D - 1]).toBeCloseTo(t * tokenSec, 5);
      }
    }
  });

  it('a family subset cycles through those families only, with ids that never match a run over all six', () => {
    const some = ['sound-order', 'moved-object'] as const;
    const subset = avWorldSamples({ split: 'test', count: 4, families: some });
    expect(subset.map((s) => s.family)).toEqual(['sound-order', 'moved-object', 'sound-order', 'moved-object']);
    const all = avWorldSamples({ split: 'test', count: 4 });
    expect(all.map((s) => s.id)).toEqual(avWorldSamples({ split: 'test', count: 4, families: FAMILIES }).map((s) => s.id));
    expect(all[0]!.id).toBe('av-world/default/test/0/0');
    for (const s of subset) expect(all.map((a) => a.id)).not.toContain(s.id);
    expect(subset[0]!.id).toBe('av-world/default/test/0/only-sound-order+moved-object/0');
    const turns = avWorldClipQuestions({ preset: 'tiny', split: 'test', count: 6, perClip: 2, families: some });
    expect(turns).toHaveLength(6);
    for (const s of turns) expect(some).toContain(s.family);
    expect(turns[0]!.id).toContain('/only-sound-order+moved-object/c');
    expect(() => avWorldClipQuestions({ split: 'test', count: 1, perClip: 1, families: [] })).toThrow(/families must not be empty/);
  });

  it('rejects bad options with a clear message', () => {
    expect(() => avWorldSamples({ preset: 'huge' as 'tiny', split: 'test', count: 1 })).toThrow(/preset "huge" is unknown/);
    expect(() => avWorldSamples({ split: 'dev' as 'test', count: 1 })).toThrow(/split "dev" is unknown/);
    expect(() => avWorldSamples({ split: 'test', count: -1 })).toThrow(/count must be a non-negative integer/);
  });
});
