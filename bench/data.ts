/**
 * `npm run bench -- data [--samples 2000] [--small 200] [--dir DIR] [--keep]`: peak RSS of
 * walking a JSONL dataset with 1 MiB of f32 embeddings per sample (4,096 × 64, one raw file
 * each), over the first `--small` samples and over all `--samples`, each walk in its own child
 * process through the runner's DatasetSource (lazy: one sample's files at a time). The eager
 * loader (every file in memory first) is measured at `--small` for comparison; at 2,000 it
 * would need > 2 GiB. Prints both peaks and their ratio; lazy should be ≈ 1 (independent of
 * the sample count), eager grows with it. Writes `--samples` MiB into a temp dir (removed
 * after unless --keep).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fmt, ratio } from './_timing.js';
import { measureRss, writeRssDataset, type RssResult } from './_data-rss.js';

const MiB = 1024 * 1024;

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { samples: { type: 'string', default: '2000' }, small: { type: 'string', default: '200' }, dir: { type: 'string' }, keep: { type: 'boolean', default: false } },
  });
  const large = Number(values.samples);
  const small = Number(values.small);
  if (!Number.isInteger(large) || !Number.isInteger(small) || small < 1 || large <= small) {
    throw new Error(`bench data: --small (${values.small}) and --samples (${values.samples}) must be whole numbers with 1 ≤ small < samples`);
  }
  const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'kvprism-bench-data-'));
  try {
    const t0 = performance.now();
    const file = writeRssDataset(dir, large);
    console.log(`wrote ${large} samples × 1 MiB of embeddings to ${dir} in ${fmt((performance.now() - t0) / 1000, 1)} s`);
    const row = (r: RssResult, ms: number): void =>
      console.log(`${r.mode.padEnd(5)} ${String(r.count).padStart(6)} samples: peak RSS ${fmt(r.peakRssBytes / MiB, 1).padStart(8)} MiB, retained after GC ${fmt(r.retainedBytes / MiB, 1).padStart(8)} MiB  (${fmt(ms / 1000, 1)} s, checksum ${r.checksum})`);
    const timed = (count: number, mode: 'lazy' | 'eager'): RssResult => {
      const t = performance.now();
      const r = measureRss(file, count, mode);
      row(r, performance.now() - t);
      return r;
    };
    const lazySmall = timed(small, 'lazy');
    const lazyLarge = timed(large, 'lazy');
    const eagerSmall = timed(small, 'eager');
    console.log(`lazy peak RSS ratio ${large} / ${small} samples: ${fmt(ratio(lazyLarge.peakRssBytes, lazySmall.peakRssBytes), 3)} (independent of the count: ≈ 1)`);
    console.log(`eager / lazy peak RSS at ${small} samples: ${fmt(ratio(eagerSmall.peakRssBytes, lazySmall.peakRssBytes), 3)}`);
  } finally {
    if (!values.keep && !values.dir) rmSync(dir, { recursive: true, force: true });
  }
}
