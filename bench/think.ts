/**
 * `npm run bench -- think [--slots N] [--reps R]`: what ThinK's pruned keys cost the native CPU
 * attention. One layer (8 KV heads, GQA 4, head_dim 128, f32 and f16) of N slots, whole keys
 * vs keys pruned at λ = 0.5 (recent 32 slots whole), attended by one decode query and by a
 * 32-token chunk; prints K/V bytes and median ms side by side (never pass/fail).
 */
import { loadAddon } from '../src/attention/native/addon.js';
import { NativeBackend } from '../src/attention/native/native-backend.js';
import type { KVDType } from '../src/attention/backend.js';
import { LayerCache } from '../src/cache/layer-cache.js';
import { allocTokenMeta } from '../src/cache/token-meta.js';
import { randomNormalArray } from '../src/util/random.js';
import { fmt, medianMs, ratio } from './_timing.js';

const KV_HEADS = 8;
const GROUP = 4;
const D = 128;

function flag(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
}

function layer(dtype: KVDType, slots: number, pruned: boolean): LayerCache {
  const c = new LayerCache({ layer: 0, kvHeads: KV_HEADS, headDim: D, dtype, initialCapacity: slots });
  const meta = allocTokenMeta(slots);
  meta.position.set(Array.from({ length: slots }, (_, i) => i));
  c.append(randomNormalArray(slots * KV_HEADS * D, 1), randomNormalArray(slots * KV_HEADS * D, 2), meta);
  if (pruned) {
    const keep = Int32Array.from({ length: slots }, (_, i) => i);
    const channels = Array.from({ length: KV_HEADS }, (_, h) => Int32Array.from({ length: D / 2 }, (_, i) => 2 * i + (h % 2)));
    c.apply({ heads: Array.from({ length: KV_HEADS }, () => ({ keep })), keyChannels: { channels, recent: 32 } });
  }
  return c;
}

export async function main(argv: string[]): Promise<void> {
  const addon = loadAddon();
  if (!addon) throw new Error('bench think: the native addon is not built (npm run build:native)');
  const cpu = new NativeBackend(addon, 'cpu');
  const slots = flag(argv, 'slots', 4096);
  const reps = flag(argv, 'reps', 9);
  console.log(`ThinK pruned keys, native CPU (${addon.info().isa}, ${cpu.threads} threads): ${KV_HEADS} KV heads × GQA ${GROUP}, d = ${D}, ${slots} slots, λ = 0.5\n`);
  console.log('| dtype | queries | whole: KiB | pruned: KiB | whole: ms | pruned: ms | pruned / whole ms |');
  console.log('|---|---|---|---|---|---|---|');
  for (const dtype of ['f32', 'f16'] as KVDType[]) {
    const whole = layer(dtype, slots, false);
    const pruned = layer(dtype, slots, true);
    for (const n of [1, 32]) {
      const q = randomNormalArray(n * KV_HEADS * GROUP * D, 3);
      const qPositions = Int32Array.from({ length: n }, (_, i) => slots - n + i);
      const run = (c: LayerCache) => () => cpu.attend({ q, n, qHeads: KV_HEADS * GROUP, qPositions, kv: c.layout(), scale: 1 / Math.sqrt(D), needs: {} });
      const a = await medianMs(run(whole), reps);
      const b = await medianMs(run(pruned), reps);
      const kib = (c: LayerCache) => (c.bytes().kvBytes / 1024).toFixed(0);
      console.log(`| ${dtype} | ${n} | ${kib(whole)} | ${kib(pruned)} | ${fmt(a, 3)} | ${fmt(b, 3)} | ${fmt(ratio(b, a))} |`);
    }
  }
}
