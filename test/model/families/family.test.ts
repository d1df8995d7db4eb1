/**
 * Family detection from config.json: the published key layouts of Qwen2-VL, Qwen2.5-VL and
 * Qwen2.5-Omni (thinker_config), transformers' defaults where a key is absent, clear errors.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { familyFromConfig, loadFamily } from '../../../src/model/families/family.js';

const tmp = mkdtempSync(join(tmpdir(), 'kvprism-family-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('familyFromConfig', () => {
  it('reads merge size, time rates and placeholder tokens per family', () => {
    expect(familyFromConfig({ model_type: 'qwen2_vl', vision_config: { spatial_merge_size: 2, depth: 32 } })).toMatchObject({
      name: 'qwen2-vl',
      mergeSize: 2,
      positionsPerSecond: null,
      tokens: { video: '<|video_pad|>', visionStart: '<|vision_start|>' },
    });
    expect(familyFromConfig({ model_type: 'qwen2_5_vl', vision_config: { spatial_merge_size: 2, tokens_per_second: 2 } })).toMatchObject({ name: 'qwen2.5-vl', positionsPerSecond: 2 });
    expect(familyFromConfig({ model_type: 'qwen2_5_vl' }).positionsPerSecond).toBe(4);
    const omni = familyFromConfig({ model_type: 'qwen2_5_omni', thinker_config: { position_id_per_seconds: 25, seconds_per_chunk: 2, vision_config: { spatial_merge_size: 2 } } });
    expect(omni).toMatchObject({ name: 'qwen2.5-omni', positionsPerSecond: 25, secondsPerChunk: 2, tokens: { audio: '<|AUDIO|>', audioStart: '<|audio_bos|>', video: '<|VIDEO|>' } });
  });

  it('errors name the file, the field and the expected form', () => {
    expect(() => familyFromConfig({ model_type: 'llama' }, 'x/config.json')).toThrow('x/config.json: model_type "llama" has no multimodal family; expected qwen2_vl, qwen2_5_vl or qwen2_5_omni');
    expect(() => familyFromConfig({ model_type: 'qwen2_vl', vision_config: { spatial_merge_size: 0 } }, 'x/config.json')).toThrow('x/config.json: vision_config.spatial_merge_size');
    expect(() => familyFromConfig({ model_type: 'qwen2_5_omni', thinker_config: { seconds_per_chunk: 'two' } }, 'x/config.json')).toThrow('x/config.json: thinker_config.seconds_per_chunk');
  });

  it('loadFamily reads the folder and names an unreadable config.json', () => {
    writeFileSync(join(tmp, 'config.json'), JSON.stringify({ model_type: 'qwen2_5_vl', vision_config: { tokens_per_second: 2 } }));
    expect(loadFamily(tmp, 'transformers-5')).toMatchObject({ name: 'qwen2.5-vl', ropeIndexRules: 'transformers-5' });
    writeFileSync(join(tmp, 'config.json'), '{');
    expect(() => loadFamily(tmp)).toThrow(`${join(tmp, 'config.json')}: cannot read as JSON`);
  });
});
