import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runExample } from '../../examples/library.js';

const modelDir = fileURLToPath(new URL('../../../shared/models/stories260K', import.meta.url));

describe('README library example', () => {
  it('runs on stories260K and the compressed cache holds a quarter of the bytes', () => {
    const { full, snap } = runExample(modelDir);
    expect(full.tokens.length).toBeGreaterThan(0);
    expect(snap.tokens.length).toBeGreaterThan(0);
    const ratio = snap.bytesAfterPrefill.kvBytes / full.bytesAfterPrefill.kvBytes;
    expect(ratio).toBeGreaterThan(0.2);
    expect(ratio).toBeLessThan(0.3);
  });
});
