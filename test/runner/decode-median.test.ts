/** The median decode step: robust to the slow steps a shared machine adds, where the mean per token is not. */
import { describe, expect, it } from 'vitest';
import type { QASample } from '../../src/model/prompt.js';
import type { SampleOutcome } from '../../src/runner/executor.js';
import { aggregate, median } from '../../src/runner/metrics.js';

const sample = (id: string): QASample => ({ id, family: 'f', prompt: { segments: [] }, choices: ['a', 'b'], answer: 0 });
const outcome = (steps: number[] | undefined): SampleOutcome => ({
  predicted: 0,
  answerDistribution: [1, 0],
  promptTokens: 4,
  bytes: null,
  prefillMs: 1,
  compressionMs: 0,
  decodeMs: (steps ?? [5]).reduce((a, b) => a + b, 0),
  decodeTokens: (steps ?? [5]).length,
  decodeStepsMs: steps,
});

describe('decode median', () => {
  it('median of none, odd and even counts', () => {
    expect(median([])).toBeNull();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('a trial reports the median over every step of its samples beside the mean per token', () => {
    const m = aggregate([sample('a'), sample('b')], [outcome([1, 2, 100]), outcome([3])], [null, null]);
    expect(m.decodeMsPerToken).toBeCloseTo(106 / 4, 12);
    expect(m.decodeMsMedian).toBe(2.5); // the 100 ms step moves the mean, not the median
  });

  it('no timed steps: no median', () => {
    expect(aggregate([sample('a')], [outcome(undefined)], [null]).decodeMsMedian).toBeNull();
  });
});
