/** JSONL generation samples: `reference` instead of choices, one kind per dataset, clear errors. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isGenerationSample } from '../../src/model/prompt.js';
import { loadJsonlDataset } from '../../src/runner/jsonl-dataset.js';

function dataset(lines: unknown[]): string {
  const f = join(mkdtempSync(join(tmpdir(), 'kvprism-gen-ds-')), 'gen.jsonl');
  writeFileSync(f, lines.map((l) => JSON.stringify(l)).join('\n'));
  return f;
}

describe('JSONL generation samples', () => {
  it('load with one or several references and an optional token limit', () => {
    const [a, b] = loadJsonlDataset(dataset([
      { id: 'a', prompt: 'Question: where? Answer:', reference: 'on the sofa' },
      { id: 'b', family: 'f', prompt: [{ text: 'Q' }], reference: ['yes', 'yes , he does'], maxNewTokens: 8 },
    ]));
    expect(isGenerationSample(a!) && isGenerationSample(b!)).toBe(true);
    expect(a).toMatchObject({ reference: ['on the sofa'], choices: [], answer: -1, maxNewTokens: undefined, family: 'default' });
    expect(b).toMatchObject({ reference: ['yes', 'yes , he does'], maxNewTokens: 8 });
  });

  it('a choice sample is not a generation sample', () => {
    const [c] = loadJsonlDataset(dataset([{ id: 'c', prompt: 'x', choices: ['p', 'q'], answer: 0 }]));
    expect(isGenerationSample(c!)).toBe(false);
  });

  it('a dataset mixing the two kinds is refused, naming both lines', () => {
    const f = dataset([{ id: 'c', prompt: 'x', choices: ['p', 'q'], answer: 0 }, { id: 'g', prompt: 'x', reference: 'r' }]);
    expect(() => loadJsonlDataset(f)).toThrow(/gen\.jsonl:2: sample "g" is a generation sample \(\{reference\}, no choices\), but the dataset's first sample \(.*gen\.jsonl:1\) is a choice sample .*one kind/);
  });

  it('bad fields name file, line, field and form', () => {
    expect(() => loadJsonlDataset(dataset([{ id: 'g', prompt: 'x', reference: [] }]))).toThrow(/gen\.jsonl:1: reference/);
    expect(() => loadJsonlDataset(dataset([{ id: 'g', prompt: 'x', reference: 'r', maxNewTokens: 0 }]))).toThrow(/gen\.jsonl:1: maxNewTokens/);
    expect(() => loadJsonlDataset(dataset([{ id: 'g', prompt: 'x', reference: 'r', answer: 0 }]))).toThrow(/gen\.jsonl:1: .*answer/);
  });
});
