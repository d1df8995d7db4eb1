import { describe, expect, it } from 'vitest';
import { initParams, READOUT_PROBE, type Params } from '../../src/organism/params.js';
import { warmStart } from '../../src/organism/warm-start.js';
import { parseTrainFlags } from '../../src/organism/train-options.js';
import { Rng } from '../../src/datasets/av-world/index.js';
import type { OrganismConfig } from '../../src/organism/config.js';

const config: OrganismConfig = { hidden: 16, intermediate: 24, layers: 3, heads: 4, kvHeads: 2, headDim: 4, vocab: 10, ropeTheta: 10000, rmsEps: 1e-5, maxPositions: 64, bosId: 1, eosId: 2, padId: 0, videoFeatureDim: 5, audioFeatureDim: 3 };
const fresh = (seed: number, probe = false): Params => {
  const rng = new Rng(seed, 7);
  return initParams(config, () => rng.normal(), { readoutProbe: probe });
};
const equal = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => v === b[i]);

describe('warm start (--init, --reinit-layers)', () => {
  it('copies every tensor except those of the re-initialised layers, which keep their fresh values', () => {
    const checkpoint = fresh(1);
    const params = fresh(2, true);
    const before = new Map([...params].map(([n, t]) => [n, t.data.slice()]));
    const lines: string[] = [];
    warmStart(params, checkpoint, 'ck.safetensors', [2], config.layers, (l) => lines.push(l));
    let kept = 0;
    for (const [name, t] of params) {
      if (name.startsWith('model.layers.2.') || name === READOUT_PROBE) {
        expect(equal(t.data, before.get(name)!), name).toBe(true);
        // Norm weights start at 1 in both, so only the random tensors can tell fresh from copied.
        if (!name.endsWith('layernorm.weight')) expect(name === READOUT_PROBE || !equal(t.data, checkpoint.get(name)!.data), name).toBe(true);
        kept++;
      } else {
        expect(equal(t.data, checkpoint.get(name)!.data), name).toBe(true);
      }
    }
    expect(kept).toBeGreaterThan(5);
    expect(lines.join('\n')).toMatch(/layer 2 starts from its initialisation/);
    expect(lines.join('\n')).toMatch(/readout_probe\.weight is not in ck\.safetensors/);
  });

  it('without re-initialised layers every architecture tensor comes from the checkpoint', () => {
    const checkpoint = fresh(1);
    const params = fresh(2);
    warmStart(params, checkpoint, 'ck', [], config.layers, () => {});
    for (const [name, t] of params) expect(equal(t.data, checkpoint.get(name)!.data), name).toBe(true);
  });

  it('rejects a layer outside the model and a checkpoint of another shape, naming the layer or tensor', () => {
    expect(() => warmStart(fresh(2), fresh(1), 'ck', [3], config.layers, () => {})).toThrow(/layer 3 is outside the model's layers 0\.\.2/);
    const other = fresh(1);
    other.set('model.norm.weight', { shape: [8], data: new Float32Array(8) });
    expect(() => warmStart(fresh(2), other, 'ck.safetensors', [], config.layers, () => {})).toThrow(/ck\.safetensors: tensor "model\.norm\.weight" .*wrong size/);
  });

  it('the flag parses as a layer list and rejects anything else', async () => {
    expect((await parseTrainFlags(['--reinit-layers=2,3'], 'stage x')).reinitLayers).toEqual([2, 3]);
    expect((await parseTrainFlags([], 'stage x')).reinitLayers).toBeUndefined();
    await expect(parseTrainFlags(['--reinit-layers=last'], 'stage x')).rejects.toThrow(/stage x: --reinit-layers: "last" is not a layer index/);
  });
});
