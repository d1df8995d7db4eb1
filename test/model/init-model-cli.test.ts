/**
 * init-model folders load like any HF folder; the generate / inspect / init-model commands
 * run end to end through the real CLI entry point.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeToF32 } from '../../src/util/half.js';
import { describeModel } from '../../src/model/describe.js';
import { embedPrompt } from '../../src/model/embed-prompt.js';
import { generate } from '../../src/model/generate.js';
import { initModel } from '../../src/model/init-model.js';
import { kvBytesPerToken, loadModel } from '../../src/model/model.js';
import { parseModelConfig } from '../../src/model/config.js';
import { PRESETS } from '../../src/model/presets.js';
import { expectedTensors } from '../../src/model/weights.js';
import { STORIES_DIR } from './fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'kvprism-init-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const CLI = fileURLToPath(new URL('../../bin/kvprism.js', import.meta.url));

describe('init-model', () => {
  it('writes f32 and bf16 folders of the same random weights, loaded in their stored dtype', () => {
    initModel({ preset: 'tiny-llama', out: join(tmp, 'f32'), seed: 9 });
    initModel({ preset: 'tiny-llama', out: join(tmp, 'bf16'), dtype: 'bf16', seed: 9, layers: 1 });
    const a = loadModel(join(tmp, 'f32'));
    const b = loadModel(join(tmp, 'bf16'));
    expect(a.weights.layers[0]!.q.dtype).toBe('f32');
    expect(b.weights.layers[0]!.q.dtype).toBe('bf16');
    expect(b.weights.layers[0]!.q.data).toBeInstanceOf(Uint16Array);
    expect(b.config.numLayers).toBe(1);
    const qa = a.weights.layers[0]!.q.data as Float32Array;
    const qb = decodeToF32(b.weights.layers[0]!.q.data, 'bf16', 0, qa.length);
    for (let i = 0; i < qa.length; i += 17) expect(Math.abs(qb[i]! - qa[i]!)).toBeLessThanOrEqual(Math.abs(qa[i]!) / 128);
    expect(a.weights.lmHead).not.toBe(a.weights.embed);
    // Llama preset with distinct BOS: prompts start with it; the byte-level tokenizer round-trips.
    const p = embedPrompt(a, { segments: [{ kind: 'text', text: 'héllo' }] });
    expect(p.ids[0]).toBe(257);
    expect(a.tokenizer.decode(Array.from(p.ids))).toBe('héllo');
    expect(generate(b, { segments: [{ kind: 'text', text: 'x' }] }, { maxNewTokens: 4, stop: [] }).tokens).toHaveLength(4);
  });

  it('published shapes: SmolLM2-135M has 134,515,008 parameters and 45 KiB of f32 KV per token', () => {
    const c = parseModelConfig({ ...PRESETS['smollm2-135m'] });
    const count = [...expectedTensors(c, c.layouts[0]!).values()].filter((t) => !t.optional).reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
    expect(count).toBe(134_515_008);
    expect(kvBytesPerToken(c)).toBe(2 * 30 * 3 * 64 * 4);
    const q = parseModelConfig({ ...PRESETS['qwen2.5-0.5b'] });
    const qCount = [...expectedTensors(q, q.layouts[0]!).values()].filter((t) => !t.optional).reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
    expect(qCount).toBe(494_032_768);
  });

  it('describes a written folder from its headers', () => {
    initModel({ preset: 'tiny-qwen2', out: join(tmp, 'q'), dtype: 'bf16' });
    const d = describeModel(join(tmp, 'q'));
    expect(d.dtypes).toEqual({ BF16: 2 + 2 * 12 });
    expect(d.parameters).toBe(300 * 48 + 48 + 2 * (48 * 48 * 2 + 8 * 48 * 2 + 48 + 8 + 8 + 3 * 40 * 48 + 2 * 48));
    expect(d.kvBytesPerToken.bf16).toBe(2 * 2 * 1 * 8 * 2);
  });
});

describe('CLI', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });

  it('init-model → inspect → generate with a policy', () => {
    const out = join(tmp, 'cli-model');
    const init = run('init-model', '--preset', 'tiny-qwen2-vl', '--out', out, '--projector', 'audio:8');
    expect(init.status, init.stderr).toBe(0);
    expect(init.stdout).toMatch(/architecture qwen2_vl \(qwen2 decoder\)/);
    expect(init.stdout).toMatch(/mrope sections \[2, 1, 1\]/);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).kvprism).toEqual({ projectors: { audio: { feature_dim: 8 } } });
    const inspect = JSON.parse(execFileSync(process.execPath, [CLI, 'inspect', out, '--json'], { encoding: 'utf8' }));
    expect(inspect.config.qkvBias).toBe(true);
    const gen = run('generate', '--model', STORIES_DIR, '--max-new', '24', '--policy', 'snapkv', '--budget', '50%', '--backend', 'ts');
    expect(gen.status, gen.stderr).toBe(0);
    expect(gen.stdout).toMatch(/^Once upon a time, there was a little girl named Lily\./);
    expect(gen.stderr).toMatch(/\[ts\] prompt 1 tok, .*24 generated \(length\).*snapkv 50%/);
  });

  it('bad input exits 1 with one clear line', () => {
    const missing = run('generate', '--model', join(tmp, 'nope'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/kvprism: .*nope: model folder does not exist/);
    const badProj = run('init-model', '--preset', 'tiny-llama', '--out', join(tmp, 'x'), '--projector', 'smell:3');
    expect(badProj.status).toBe(1);
    expect(badProj.stderr).toMatch(/--projector "smell:3": expected MODALITY:FEATURE_DIM/);
  });
});
