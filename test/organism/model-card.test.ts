import { describe, expect, it } from 'vitest';
import { modelCard } from '../../src/organism/model-card.js';
import { organismConfig } from '../../src/organism/train.js';
import { parseTrainFlags } from '../../src/organism/train-options.js';

const report = { overall: 0.9, n: 6, byFamily: { 'av-visible': { accuracy: 0.9, n: 6 } } };
const card = async (flags: string[]) => modelCard(organismConfig(), await parseTrainFlags(flags, 'card'), { steps: 10, minutes: 1, validation: report, test: report }, 'npm run organism:train');

describe('the model card says how the stage was trained', () => {
  it('a plain stage: no attention supervision, the re-initialised layer and the motion labels', async () => {
    const text = await card(['--attention-weight=0', '--probe-weight=0', '--reinit-layers=3', '--motion-labels']);
    expect(text).toContain('no attention supervision');
    expect(text).not.toMatch(/attention supervision \(weight/);
    expect(text).not.toContain('Which tokens the *other* heads');
    expect(text).toContain('Layer 3 (every tensor) started from a fresh initialisation');
    expect(text).toContain('the word "moved" on the moving object\'s patch');
    expect(text).not.toContain('readout probe (weight');
  });

  it('a supervised stage keeps its supervision paragraph and mentions neither', async () => {
    const text = await card([]);
    expect(text).toContain('attention supervision (weight 1): −log of the attention mass');
    expect(text).toContain('Which tokens the *other* heads and layers read is not supervised.');
    expect(text).not.toContain('fresh initialisation');
    expect(text).not.toContain('"moved"');
  });
});
