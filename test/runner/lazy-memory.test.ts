/**
 * Smoke size of `npm run bench -- data`: 200 samples with 1 MiB of embeddings each, walked
 * through the runner's DatasetSource in child processes. What a lazy dataset holds on to after
 * the walk is one sample's span whatever the count; the eager loader holds them all (so the
 * measurement can tell). Peak RSS bounds are loose (GC timing moves them); the bench prints
 * the 2,000-sample numbers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { measureRss, writeRssDataset } from '../../bench/_data-rss.js';

const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'kvprism-lazy-mem-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lazy JSONL memory', () => {
  it('holds one sample’s files at a time: retained bytes and peak RSS do not grow with the sample count', () => {
    const file = writeRssDataset(dir, 200);
    const few = measureRss(file, 20, 'lazy');
    const many = measureRss(file, 200, 'lazy');
    const eager = measureRss(file, 200, 'eager');
    expect(many.checksum).toBe(eager.checksum); // every file was read in both walks
    const ratio = many.peakRssBytes / few.peakRssBytes;
    console.log(`lazy peak RSS ${(few.peakRssBytes / MiB).toFixed(1)} MiB (20 samples) vs ${(many.peakRssBytes / MiB).toFixed(1)} MiB (200): ratio ${ratio.toFixed(3)}; eager at 200: ${(eager.peakRssBytes / MiB).toFixed(1)} MiB`);
    // Alone, the lazy walk retains ≈ 1 MiB (one span); on a loaded machine V8 may not yet have
    // freed a few dozen external buffers after the forced GC (31 MiB seen), so the bound is far
    // below the eager 200 MiB rather than tight.
    expect(many.retainedBytes).toBeLessThan(40 * MiB);
    expect(eager.retainedBytes).toBeGreaterThan(190 * MiB);
    expect(ratio).toBeLessThan(1.6);
    expect(eager.peakRssBytes - many.peakRssBytes).toBeGreaterThan(100 * MiB);
  }, 180_000);
});
