/**
 * docs/new-policy.md's worked example, run as written: the `ts example` block is extracted,
 * written to a scratch folder (inside the repository so its bare imports resolve; removed
 * afterwards), registered next to the catalogue, and run through a real CacheSession.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ALL_POLICIES } from '../../src/policies/catalog.js';
import { PolicyRegistry, type PolicyDefinition } from '../../src/policies/registry.js';
import { policyTraits } from '../../src/policies/traits.js';
import { forward, headLengths, newSession, PROMPT_MODALITY, SHAPE } from './session-run.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const scratch = mkdtempSync(join(root, 'test', 'policies', '.doc-example-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The example block of the page, with `from 'kvprism'` pointed at the sources. */
function exampleSource(): string {
  const page = readFileSync(join(root, 'docs', 'new-policy.md'), 'utf8');
  const m = /```ts example\n([\s\S]*?)```/.exec(page);
  if (!m) throw new Error('docs/new-policy.md: no ```ts example block');
  const index = relative(scratch, join(root, 'src', 'index.js')).replaceAll('\\', '/');
  return m[1]!.replaceAll("from 'kvprism'", `from '${index}'`);
}

describe('docs/new-policy.md worked example', () => {
  it('registers, validates options, runs through a session and keeps the largest values plus the recent slots', async () => {
    const file = join(scratch, 'vnorm.ts');
    writeFileSync(file, exampleSource());
    const mod = (await import(pathToFileURL(file).href)) as { vnorm: PolicyDefinition };
    const registry = new PolicyRegistry([...ALL_POLICIES, mod.vnorm]);
    expect(() => registry.create('vnorm', { recnt: 1 }, { ...SHAPE, seed: 0 })).toThrow(/policies\.vnorm\.\(options\): .*recnt/);
    expect(policyTraits(mod.vnorm)).toMatchObject({ attentionFree: true, queryAgnostic: true });

    const s = newSession(registry.create('vnorm', { recent: 2 }, { ...SHAPE, seed: 0 }), 8, { kind: 'after-prefill' });
    forward(s, 0, PROMPT_MODALITY, 4);
    const before = Array.from({ length: SHAPE.numLayers }, (_, l) => s.layer(l).view());
    const norms = before.map((v) =>
      Array.from({ length: SHAPE.kvHeads }, (_, h) => {
        const vals = v.values(h);
        return Array.from({ length: v.length(h) }, (_, j) => Math.hypot(...vals.subarray(j * SHAPE.headDim, (j + 1) * SHAPE.headDim)));
      }),
    );
    s.endPrefill();
    expect(headLengths(s)).toEqual(new Array(SHAPE.numLayers).fill(new Array(SHAPE.kvHeads).fill(8)));
    const P = PROMPT_MODALITY.length;
    for (let l = 0; l < SHAPE.numLayers; l++) {
      for (let h = 0; h < SHAPE.kvHeads; h++) {
        const kept = Array.from(s.layer(l).view().meta(h).position.subarray(0, 8));
        const byNorm = norms[l]![h]!.slice(0, P - 2).map((n, j) => [n, j] as const).sort((a, b) => b[0] - a[0]).slice(0, 6).map(([, j]) => j);
        expect(kept).toEqual([...byNorm, P - 2, P - 1].sort((a, b) => a - b));
      }
    }
  });
});
