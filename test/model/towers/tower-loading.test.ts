import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tsBackend } from '../../../src/attention/ts-backend.js';
import { parseModelConfig } from '../../../src/model/config.js';
import { describeModel, formatDescription } from '../../../src/model/describe.js';
import { initModel } from '../../../src/model/init-model.js';
import { loadModel } from '../../../src/model/model.js';
import { PRESETS } from '../../../src/model/presets.js';
import { Checkpoint, type Tensor } from '../../../src/model/safetensors.js';
import { writeSafetensors } from '../../../src/model/safetensors-write.js';
import { towerParameterCount, towerTensorShapes } from '../../../src/model/towers/load-towers.js';

const tmp = mkdtempSync(join(tmpdir(), 'kvprism-tower-load-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Rewrites DIR/model.safetensors through `edit` (tensor map in, tensor map out). */
function rewrite(dir: string, edit: (t: Map<string, Tensor>) => void): void {
  const ck = Checkpoint.open(dir);
  const tensors = new Map(ck.names().map((n) => [n, ck.read(n)]));
  ck.close();
  edit(tensors);
  writeSafetensors(join(dir, 'model.safetensors'), tensors);
}

function fresh(name: string, preset: 'tiny-qwen2-vl' | 'tiny-qwen2.5-vl' | 'tiny-qwen2.5-omni'): string {
  const dir = join(tmp, name);
  initModel({ preset, out: dir, seed: 1 });
  return dir;
}

describe('loading towers from the model checkpoint', () => {
  it('loads every tower a config declares, and none for text-only configs', () => {
    const omni = loadModel(fresh('omni', 'tiny-qwen2.5-omni'));
    expect(omni.towers?.vision?.config.variant).toBe('qwen2_5_omni');
    expect(omni.towers?.audio?.config.nWindow).toBe(5);
    expect(towerParameterCount(omni.towers!)).toBe([...towerTensorShapes(omni.config.towers).values()].reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0) - 2 * 32);
    const text = join(tmp, 'text');
    initModel({ preset: 'tiny-qwen2', out: text });
    expect(loadModel(text).towers).toBeUndefined();
  });

  it('inspect describes each tower from the headers, with the loaded parameter count', () => {
    const dir = join(tmp, 'omni');
    const d = describeModel(dir);
    expect(d.towers.map((t) => t.tower)).toEqual(['vision', 'audio']);
    const loaded = loadModel(dir).towers!;
    expect(d.towers[0]!.parameters).toBe(towerParameterCount({ vision: loaded.vision }));
    expect(d.towers[1]!.parameters).toBe(towerParameterCount({ audio: loaded.audio }));
    expect(d.towers[1]!.bytes).toBe(4 * d.towers[1]!.parameters);
    const text = formatDescription(d);
    expect(text).toMatch(/vision tower qwen2_5_omni 2 blocks × 16 .*windows of 56 px, full attention at blocks \[1\]/);
    expect(text).toMatch(/audio tower {2}2 layers × 16 \(2 heads, ffn 24\), 128 mel bins, chunks of 10 frames → 32/);
  });

  it('a missing tower tensor is an error naming it and its expected shape', () => {
    const dir = fresh('missing', 'tiny-qwen2.5-omni');
    rewrite(dir, (t) => t.delete('thinker.audio_tower.layers.1.fc2.weight'));
    expect(() => loadModel(dir)).toThrow(/model\.safetensors: audio tensor "thinker\.audio_tower\.layers\.1\.fc2\.weight" is missing \(expected shape \[16, 24\]\)/);
  });

  it('a wrong-shape tower tensor is an error naming file, tensor, found and expected shape', () => {
    const dir = fresh('shape', 'tiny-qwen2.5-vl');
    rewrite(dir, (t) => {
      const w = t.get('visual.blocks.2.attn.qkv.weight')!;
      t.set('visual.blocks.2.attn.qkv.weight', { ...w, shape: [16, 48] });
    });
    expect(() => loadModel(dir)).toThrow(/model\.safetensors: vision tensor "visual\.blocks\.2\.attn\.qkv\.weight" has shape \[16, 48\]; expected \[48, 16\]/);
  });

  it('a tower tensor the config does not know (a deeper checkpoint) is an error; talker tensors are ignored', () => {
    const dir = fresh('extra', 'tiny-qwen2-vl');
    rewrite(dir, (t) => t.set('visual.blocks.2.norm1.weight', { dtype: 'F32', shape: [16], data: new Float32Array(16) }));
    expect(() => loadModel(dir)).toThrow(/unexpected vision tensor "visual\.blocks\.2\.norm1\.weight"/);
    const omni = fresh('talker', 'tiny-qwen2.5-omni');
    rewrite(omni, (t) => {
      t.set('talker.model.layers.0.mlp.up_proj.weight', { dtype: 'F32', shape: [4, 4], data: new Float32Array(16) });
      t.set('token2wav.code2wav_dit_model.time_embed.weight', { dtype: 'F32', shape: [3], data: new Float32Array(3) });
    });
    expect(loadModel(omni).towers?.audio).toBeDefined();
  });

  it('finds the vision tower under model.visual. (newer transformers saves)', () => {
    const dir = fresh('renamed', 'tiny-qwen2.5-vl');
    const before = loadModel(dir).towers!.vision!;
    rewrite(dir, (t) => {
      for (const [n, v] of [...t]) {
        if (!n.startsWith('visual.')) continue;
        t.delete(n);
        t.set(`model.${n}`, v);
      }
    });
    const after = loadModel(dir).towers!.vision!;
    const px = Float32Array.from({ length: 16 * after.patchDim }, (_, i) => Math.sin(i));
    const grids = [{ t: 1, h: 4, w: 4 }];
    expect(Array.from(after.encode(tsBackend, px, grids))).toEqual(Array.from(before.encode(tsBackend, px, grids)));
  });

  it('bad tower configs name config.json and the field', () => {
    const dir = fresh('badcfg', 'tiny-qwen2.5-omni');
    const file = join(dir, 'config.json');
    const cfg = JSON.parse(readFileSync(file, 'utf8'));
    delete cfg.thinker_config.audio_config.d_model;
    writeFileSync(file, JSON.stringify(cfg));
    expect(() => loadModel(dir)).toThrow(/config\.json: thinker_config\.audio_config\.d_model: /);
    const vl = { ...PRESETS['tiny-qwen2.5-vl'] };
    expect(() => parseModelConfig({ ...vl, vision_config: { ...vl.vision_config, hidden_act: 'gelu' } })).toThrow(/vision_config\.hidden_act: /);
    expect(() => parseModelConfig({ ...vl, vision_config: { ...vl.vision_config, fullatt_block_indexes: [5] } })).toThrow(/vision_config\.fullatt_block_indexes: block 5 is past depth 3/);
    expect(() => parseModelConfig({ ...vl, vision_config: { ...vl.vision_config, window_size: 50 } })).toThrow(/vision_config\.window_size 50 must be a whole multiple of spatial_merge_size × patch_size = 28/);
    expect(() => parseModelConfig({ ...vl, vision_config: { ...vl.vision_config, num_heads: 3 } })).toThrow(/width 16 \/ num_heads 3 must be a whole multiple of 4/);
  });
});

describe('init-model tower presets', () => {
  it('real-shape presets have the published tower shapes', () => {
    const shapes = (p: keyof typeof PRESETS) => towerTensorShapes(parseModelConfig({ ...PRESETS[p] }).towers);
    const o7 = shapes('qwen2.5-omni-7b-thinker');
    expect(o7.get('thinker.visual.patch_embed.proj.weight')).toEqual([1280, 3, 2, 14, 14]);
    expect(o7.get('thinker.visual.blocks.31.mlp.gate_proj.weight')).toEqual([3420, 1280]);
    expect(o7.get('thinker.visual.merger.mlp.2.weight')).toEqual([3584, 5120]);
    expect(o7.get('thinker.audio_tower.conv1.weight')).toEqual([1280, 128, 3]);
    expect(o7.get('thinker.audio_tower.layers.31.fc1.weight')).toEqual([5120, 1280]);
    expect(shapes('qwen2.5-omni-3b-thinker').get('thinker.audio_tower.proj.weight')).toEqual([2048, 1280]);
    const vl7 = shapes('qwen2.5-vl-7b');
    expect(vl7.get('visual.blocks.0.attn.qkv.weight')).toEqual([3840, 1280]);
    const params = [...vl7.values()].reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
    expect(params / 1e6).toBeCloseTo(676.6, 0); // the ~675M-parameter ViT of Qwen2.5-VL
  });

  it('--layers cuts the Omni text decoder, --tower-layers the towers (keeping one full-attention block)', () => {
    const dir = join(tmp, 'cut');
    const cfg = initModel({ preset: 'tiny-qwen2.5-omni', out: dir, layers: 1, towerLayers: 1 }) as { thinker_config: Record<string, Record<string, unknown>> };
    expect(cfg.thinker_config.text_config!.num_hidden_layers).toBe(1);
    expect(cfg.thinker_config.vision_config!.depth).toBe(1);
    expect(cfg.thinker_config.vision_config!.fullatt_block_indexes).toEqual([0]);
    expect(cfg.thinker_config.audio_config!.encoder_layers).toBe(1);
    const m = loadModel(dir);
    expect(m.weights.layers).toHaveLength(1);
    expect(m.towers!.vision!.weights.blocks).toHaveLength(1);
    expect(m.towers!.audio!.weights.layers).toHaveLength(1);
    expect(PRESETS['tiny-qwen2.5-omni'].thinker_config.text_config.num_hidden_layers).toBe(2); // the preset itself is untouched
    expect(() => initModel({ preset: 'tiny-qwen2.5-vl', out: join(tmp, 'bad'), towerLayers: 0 })).toThrow(/--tower-layers must be a whole number ≥ 1; got 0/);
  });

  it('decoder weights do not depend on the towers written (own random stream)', () => {
    // Omni's audio tensors sort before the decoder's: a shared stream would shift every decoder weight.
    const deep = join(tmp, 'stream-deep');
    const shallow = join(tmp, 'stream-shallow');
    initModel({ preset: 'tiny-qwen2.5-omni', out: deep, seed: 5 });
    initModel({ preset: 'tiny-qwen2.5-omni', out: shallow, seed: 5, towerLayers: 1 });
    const a = loadModel(deep);
    const b = loadModel(shallow);
    expect(Array.from(a.weights.layers[1]!.down.data)).toEqual(Array.from(b.weights.layers[1]!.down.data));
    expect(Array.from(a.weights.embed.data)).toEqual(Array.from(b.weights.embed.data));
    expect(a.towers!.audio!.weights.layers).toHaveLength(2);
    expect(b.towers!.audio!.weights.layers).toHaveLength(1);
  });
});
