/**
 * `npm run bench -- towers [flags]`: the Qwen2.5-Omni vision and audio towers at published
 * shape (random weights, bf16 as published checkpoints store them) on a synthetic clip:
 * tokens, tower ms, ms per block and the full-depth extrapolation (blocks × per-block time;
 * window and full-attention blocks are timed together, so it is an estimate), weights bytes
 * and peak RSS. Only the towers' tensors are written (no text decoder), so it runs in seconds.
 *
 * Flags: --preset qwen2.5-omni-7b-thinker|qwen2.5-omni-3b-thinker, --tower-layers N (2),
 * --seconds S (2; video at 2 fps, 448×448, audio 100 mel frames per second),
 * --dtype f32|bf16 (bf16), --backend auto|ts|cpu|cuda, --threads N.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fmtBytes } from '../src/model/describe.js';
import { parseModelConfig } from '../src/model/config.js';
import { PRESETS } from '../src/model/presets.js';
import { Checkpoint } from '../src/model/safetensors.js';
import { writeSafetensorsFrom } from '../src/model/safetensors-write.js';
import { loadTowers, towerParameterCount, towerTensorShapes } from '../src/model/towers/load-towers.js';
import { resolveBackend } from '../src/runner/backend-choice.js';
import type { BackendChoice } from '../src/runner/config-schema.js';
import { hashSeed, randomNormalArray } from '../src/util/random.js';
import { fmt } from './_timing.js';

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      preset: { type: 'string', default: 'qwen2.5-omni-7b-thinker' },
      'tower-layers': { type: 'string', default: '2' },
      seconds: { type: 'string', default: '2' },
      dtype: { type: 'string', default: 'bf16' },
      backend: { type: 'string', default: 'auto' },
      threads: { type: 'string', default: '0' },
    },
  });
  const preset = values.preset as 'qwen2.5-omni-7b-thinker' | 'qwen2.5-omni-3b-thinker';
  if (!['qwen2.5-omni-7b-thinker', 'qwen2.5-omni-3b-thinker'].includes(preset)) throw new Error(`--preset must be qwen2.5-omni-7b-thinker or qwen2.5-omni-3b-thinker; got ${preset}`);
  const layers = Number(values['tower-layers']);
  const seconds = Number(values.seconds);
  const dtype = values.dtype === 'f32' ? 'F32' : 'BF16';
  const raw = structuredClone(PRESETS[preset]) as unknown as { thinker_config: Record<string, Record<string, unknown>> };
  const fullDepth = { vision: raw.thinker_config.vision_config!.depth as number, audio: raw.thinker_config.audio_config!.encoder_layers as number };
  raw.thinker_config.vision_config = { ...raw.thinker_config.vision_config, depth: layers, fullatt_block_indexes: [layers - 1] };
  raw.thinker_config.audio_config = { ...raw.thinker_config.audio_config, encoder_layers: layers };
  const config = parseModelConfig(raw as unknown as Record<string, unknown>, `preset ${preset}`);

  const dir = mkdtempSync(join(tmpdir(), 'kvprism-bench-towers-'));
  try {
    const shapes = towerTensorShapes(config.towers);
    const specs = new Map([...shapes].map(([n, shape]) => [n, { dtype: dtype as 'F32' | 'BF16', shape }]));
    let i = 0;
    writeSafetensorsFrom(join(dir, 'model.safetensors'), specs, (name) => {
      const f = randomNormalArray(shapes.get(name)!.reduce((a, b) => a * b, 1), hashSeed(7, i++), 0.02);
      if (dtype === 'F32') return f;
      const u = new Uint32Array(f.buffer);
      return Uint16Array.from(u, (x) => (x + 0x7fff + ((x >>> 16) & 1)) >>> 16);
    });
    writeFileSync(join(dir, 'config.json'), JSON.stringify(raw));
    const ckpt = Checkpoint.open(dir);
    const towers = loadTowers(config.towers, ckpt, ckpt.source);
    ckpt.close();
    const backend = resolveBackend(values.backend as BackendChoice, Number(values.threads));
    const vision = towers.vision!;
    const audio = towers.audio!;

    // Video: 2 fps, 448×448 → 32×32 patches, 2 frames per temporal patch.
    const grid = { t: Math.max(1, Math.round(seconds)), h: 32, w: 32 };
    const patches = grid.t * grid.h * grid.w;
    const pixels = Float32Array.from({ length: patches * vision.patchDim }, (_, k) => Math.sin(k * 0.37));
    const frames = Math.round(seconds * 100);
    const mel = Float32Array.from({ length: 128 * frames }, (_, k) => Math.cos(k * 0.11));

    // CPU time (all threads) beside wall time: on a shared machine wall time mostly measures the neighbours.
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const v = vision.encode(backend, pixels, [grid]);
    const visionMs = performance.now() - t0;
    const c1 = process.cpuUsage(c0);
    const t1 = performance.now();
    const a = audio.encode(backend, mel, frames);
    const audioMs = performance.now() - t1;
    const c2 = process.cpuUsage();
    const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;

    console.log(`towers of ${preset} at ${layers} block(s) each, ${dtype} weights (${fmtBytes(towerParameterCount(towers) * (dtype === 'F32' ? 4 : 2))}), backend ${backend.name}`);
    console.log(`clip ${seconds} s: video grid ${grid.t}×${grid.h}×${grid.w} (${patches} patches) → ${v.length / vision.config.outHiddenSize} tokens; ${frames} mel frames → ${a.length / audio.config.outputDim} tokens`);
    const audioCpu = cpuMs(c2) - cpuMs(c0) - cpuMs(c1);
    console.log(`vision ${fmt(visionMs, 0)} ms wall, ${fmt(cpuMs(c1), 0)} ms CPU (${fmt(visionMs / layers, 0)} ms/block incl. embed+merger; ≈ ${fmt((visionMs / layers) * fullDepth.vision / 1000, 1)} s at depth ${fullDepth.vision})`);
    console.log(`audio  ${fmt(audioMs, 0)} ms wall, ${fmt(audioCpu, 0)} ms CPU (${fmt(audioMs / layers, 0)} ms/layer incl. convs+proj; ≈ ${fmt((audioMs / layers) * fullDepth.audio / 1000, 1)} s at ${fullDepth.audio} layers)`);
    console.log(`load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${cpus().length} cores`);
    console.log(`peak RSS ${fmtBytes(process.resourceUsage().maxRSS * 1024)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
