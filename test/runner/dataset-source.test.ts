import { describe, expect, it } from 'vitest';
import { DatasetSource } from '../../src/runner/dataset-source.js';

describe('dataset sources', () => {
  it('av-world: the trial seed picks the samples, repeated requests are the same objects', async () => {
    const src = new DatasetSource({ kind: 'av-world', preset: 'tiny', split: 'test' }, '.');
    const a = await src.samples(2, 0);
    expect(a).toHaveLength(2);
    expect(a[0]!.prompt.segments.some((s) => s.kind === 'features' && s.modality === 'video')).toBe(true);
    expect(a[0]!.prompt.segments.some((s) => s.kind === 'features' && s.modality === 'audio')).toBe(true);
    expect(await src.samples(2, 0)).toBe(a);
    const b = await src.samples(2, 1);
    expect(b.map((s) => s.id)).not.toEqual(a.map((s) => s.id));
    expect(src.sampleSeed(3)).toBe(3);
  });

  it('a frames override shortens the clip; a bad preset names dataset.preset', async () => {
    const short = await new DatasetSource({ kind: 'av-world', preset: 'tiny', split: 'test', frames: 4 }, '.').samples(1, 0);
    const full = await new DatasetSource({ kind: 'av-world', preset: 'tiny', split: 'test' }, '.').samples(1, 0);
    const media = (s: typeof short) => s[0]!.prompt.segments.filter((x) => x.kind === 'features').length;
    expect(media(short)).toBeLessThan(media(full));
    await expect(new DatasetSource({ kind: 'av-world', preset: 'huge', split: 'test' }, '.').samples(1, 0)).rejects.toThrow(/dataset\.preset: .*"huge" is unknown/);
  });
});
