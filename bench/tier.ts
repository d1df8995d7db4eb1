/**
 * `npm run bench -- tier [--quick]`: decode tokens/s of the SmolLM2-135M preset (random weights
 * at the published shape, f32) over a 16k-token cache with 0 / 50 / 90 % of every head's
 * slots on the DRAM–flash tier's file (cache.tier.coldFraction), beside the same cache without
 * a tier, with the K/V bytes in DRAM and on file; and with 50 / 90 % on file chosen by score
 * (cache.tier.by = 'score': each head's lowest-scored slots by accumulated attention, its 4 first
 * and 64 newest kept in DRAM). A filled cache has no scores yet (ties: its oldest go first);
 * the first decode step's attention ranks the slots, and the next step's rebalance moves the
 * rows to match (that step is the slowest; the median is over every step).
 *
 * Every case's cache is built in this one process and decode steps run round-robin over the
 * cases (one step of each, then the next), so a shared machine's load falls on all cases alike;
 * each case reports the median and the fastest of its steps. The caches are filled with random
 * K/V (in 2048-token chunks, as a chunked prefill appends them) instead of a 16k prefill, which
 * would take minutes on a small machine. A case whose cache cannot be built (an unwritable
 * --dir, a full disk) prints its error and adds no row. The tier file's pages stay in the OS
 * page cache while RAM allows (the OS may drop them; the DRAM part it may not): the process's
 * RssAnon / RssFile are printed at the end.
 *
 * Flags: --quick (2 layers, 2048 context, 8 decode steps), --context N, --decode N (steps per
 * case), --fractions off,0,0.5,0.9, --score 0.5,0.9 (fractions chosen by score; "" for none),
 * --score-every 1 (comma-separated tier.scoreEvery values, one by-score case each), --dir DIR (of the tier file; default the OS temp dir),
 * --evict (before every step, untimed, the tier file's pages are written back and dropped from
 * memory — TierFile.evict — so each step reads its cold rows from the device),
 * --threads N (0 = every core), --layers N, --models DIR (default $TMPDIR/kvprism-bench).
 */
import { existsSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveBackend } from '../src/runner/backend-choice.js';
import { fmtBytes } from '../src/model/describe.js';
import { Decoder } from '../src/model/decoder.js';
import { initModel } from '../src/model/init-model.js';
import { loadModel, type Model } from '../src/model/model.js';
import type { Sequence } from '../src/model/sequence.js';
import { textMeta } from '../src/cache/token-meta.js';
import { randomNormalArray } from '../src/util/random.js';
import type { TierOrder } from '../src/cache/tier-spec.js';
import { fmt, ratio } from './_timing.js';

interface CaseResult {
  /** Fraction of each head's slots on file; null: no tier at all. */
  coldFraction: number | null;
  by: TierOrder;
  /** by score: attends per gathering of the scoring column sums (tier.scoreEvery). */
  scoreEvery: number;
  medianTokS: number;
  bestTokS: number;
  kvBytes: number;
  kvDramBytes: number;
  kvFileBytes: number;
}

const FILL_CHUNK = 2048;

/** One cache of the bench: how much is on file and how it is chosen. */
type TierCase = Pick<CaseResult, 'coldFraction' | 'by' | 'scoreEvery'>;

/** A kB field of /proc/self/status in bytes (0 where the OS has no such file). */
function procStatus(field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** A sequence whose cache holds `context` random tokens (the same K/V in every layer: values do not change the bytes decode streams). */
function filledSequence(model: Model, dec: Decoder, context: number, c: TierCase, dir: string | undefined): Sequence {
  const { numLayers, kvHeads, headDim } = model.config;
  const { coldFraction, by, scoreEvery } = c;
  const tier = coldFraction === null ? undefined : by === 'score' ? { coldFraction, by, scoreEvery, dir } : { coldFraction, dir };
  const seq = dec.open({ tier });
  try {
    const k = randomNormalArray(FILL_CHUNK * kvHeads * headDim, 1, 0.5);
    const v = randomNormalArray(FILL_CHUNK * kvHeads * headDim, 2, 0.5);
    for (let at = 0; at < context; at += FILL_CHUNK) {
      const n = Math.min(FILL_CHUNK, context - at);
      for (let l = 0; l < numLayers; l++) seq.session.append(l, k.subarray(0, n * kvHeads * headDim), v.subarray(0, n * kvHeads * headDim), textMeta(n, at));
    }
  } catch (err) {
    seq.session.close();
    throw err;
  }
  seq.session.endPrefill();
  seq.length = context;
  seq.ropeNext = context;
  return seq;
}

function ensureModel(dir: string, layers: number | undefined): string {
  const out = join(dir, `smollm2-135m-f32${layers ? `-l${layers}` : ''}`);
  if (!existsSync(join(out, 'model.safetensors'))) {
    console.log(`writing ${out} (random weights, SmolLM2-135M shape)…`);
    initModel({ preset: 'smollm2-135m', out, dtype: 'f32', layers });
  }
  return out;
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      context: { type: 'string' },
      decode: { type: 'string' },
      fractions: { type: 'string', default: 'off,0,0.5,0.9' },
      score: { type: 'string', default: '0.5,0.9' },
      'score-every': { type: 'string', default: '1' },
      dir: { type: 'string' },
      evict: { type: 'boolean', default: false },
      threads: { type: 'string', default: '0' },
      layers: { type: 'string' },
      models: { type: 'string', default: join(tmpdir(), 'kvprism-bench') },
    },
  });
  const quick = values.quick;
  const context = Number(values.context ?? (quick ? 2048 : 16384));
  const decode = Number(values.decode ?? (quick ? 8 : 32));
  const threads = Number(values.threads);
  const layers = values.layers ? Number(values.layers) : quick ? 2 : undefined;
  for (const [name, x] of [['--context', context], ['--decode', decode], ['--threads', threads + 1], ['--layers', layers ?? 1]] as const) {
    if (!Number.isInteger(x) || x < 1) throw new Error(`tier bench: ${name} must be a positive integer; got ${x}`);
  }
  const fractions = values.fractions.split(',').map((f) => {
    if (f === 'off') return null;
    const x = Number(f);
    if (!(x >= 0 && x <= 1)) throw new Error(`tier bench: --fractions entries are off or numbers in [0, 1]; got "${f}"`);
    return x;
  });
  const byScore = values.score === '' ? [] : values.score.split(',').map((f) => {
    const x = Number(f);
    if (!(x >= 0 && x <= 1)) throw new Error(`tier bench: --score entries are numbers in [0, 1]; got "${f}"`);
    return x;
  });
  const every = values['score-every'].split(',').map((e) => {
    const x = Number(e);
    if (!Number.isInteger(x) || x < 1) throw new Error(`tier bench: --score-every entries are integers ≥ 1; got "${e}"`);
    return x;
  });
  const cases: TierCase[] = [
    ...fractions.map((coldFraction) => ({ coldFraction, by: 'age' as const, scoreEvery: 1 })),
    ...every.flatMap((scoreEvery) => byScore.map((coldFraction) => ({ coldFraction, by: 'score' as const, scoreEvery }))),
  ];
  const modelDir = ensureModel(values.models, layers);
  console.log(
    `tier bench: SmolLM2-135M shape${layers ? ` (${layers} layers)` : ''}, f32 K/V, ${context}-token cache, ${decode} decode steps per case, tier dir ${values.dir ?? tmpdir()}` +
      (values.evict ? ', file pages evicted before every step' : ''),
  );
  console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`);
  const backend = resolveBackend('auto', threads);
  const model = loadModel(modelDir, { backend });
  const dec = new Decoder(model);
  const label = (c: TierCase) =>
    c.coldFraction === null ? 'no tier' : `${c.coldFraction * 100} %${c.by === 'score' ? ` by score${c.scoreEvery > 1 ? ` (every ${c.scoreEvery}th attend)` : ''}` : ''}`;
  const live: (TierCase & { seq: Sequence; stepMs: number[] })[] = [];
  for (const c of cases) {
    try {
      live.push({ ...c, seq: filledSequence(model, dec, context, c, values.dir), stepMs: [] });
    } catch (err) {
      console.log(`  ${label(c)} on file: FAILED, no row (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  for (let i = 0; i < decode; i++) {
    for (const c of live) {
      // --evict: the file's pages leave memory before the step (untimed), as under memory pressure.
      if (values.evict) c.seq.session.tierFile?.evict();
      const t0 = performance.now();
      dec.decodeOne(c.seq, 1 + i);
      c.stepMs.push(performance.now() - t0);
    }
  }
  const rows: CaseResult[] = live.map((c) => {
    const sorted = c.stepMs.sort((a, b) => a - b);
    const b = c.seq.session.bytes();
    return { coldFraction: c.coldFraction, by: c.by, scoreEvery: c.scoreEvery, medianTokS: 1000 / sorted[Math.floor(sorted.length / 2)]!, bestTokS: 1000 / sorted[0]!, kvBytes: b.kvBytes, kvDramBytes: b.kvDramBytes, kvFileBytes: b.kvFileBytes };
  });
  const rss = `RssAnon ${fmtBytes(procStatus('RssAnon'))}, RssFile ${fmtBytes(procStatus('RssFile'))}, RssShmem ${fmtBytes(procStatus('RssShmem'))}`;
  for (const c of live) c.seq.session.close();
  if (rows.length === 0) return;
  const base = rows.find((r) => r.coldFraction === null) ?? rows[0];
  console.log('\n| cache on file | decode tok/s (median step) | vs no tier | decode tok/s (fastest step) | vs no tier | K/V in DRAM | K/V on file |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${label(r)} | ${fmt(r.medianTokS, 2)} | ${fmt(ratio(r.medianTokS, base!.medianTokS), 2)}× | ` +
        `${fmt(r.bestTokS, 2)} | ${fmt(ratio(r.bestTokS, base!.bestTokS), 2)}× | ${fmtBytes(r.kvDramBytes)} | ${fmtBytes(r.kvFileBytes)} |`,
    );
  }
  console.log(`\nprocess memory with every case's cache alive: ${rss}`);
  console.log(`load average at end: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`);
}
