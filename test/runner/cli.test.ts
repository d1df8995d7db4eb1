/** The runner's CLI commands as a user calls them (child processes through bin/kvprism.js). */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { schemaCommand } from '../../src/cli/commands/schema.js';
import { policies } from '../../src/policies/catalog.js';

const bin = fileURLToPath(new URL('../../bin/kvprism.js', import.meta.url));
const kvprism = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

describe('kvprism CLI (runner commands)', () => {
  it('`schema` prints the config JSON Schema', () => {
    const schema = JSON.parse(execFileSync(process.execPath, [bin, 'schema'], { encoding: 'utf8' }));
    expect(schema.type).toBe('object');
    expect(schema.required).toEqual(expect.arrayContaining(['model', 'dataset', 'policies']));
  });

  it('`schema --policies` lists every registered policy with its options', async () => {
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((s: string) => void lines.push(s));
    try {
      await schemaCommand.handler({ policies: true, _: [], $0: 'kvprism' });
    } finally {
      log.mockRestore();
    }
    const pol = JSON.parse(lines.join('\n'));
    expect(Object.keys(pol).sort()).toEqual(policies.names());
    expect(pol.snapkv.options.properties.window.default).toBeTypeOf('number');
  });

  it('a bad config fails with one clear line and exit code 1, no stack trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvprism-cli-'));
    const cfg = join(dir, 'bad.yaml');
    writeFileSync(cfg, 'model: m\ndataset: { kind: jsonl, path: d.jsonl }\npolicies: [snapkvv]\n');
    const r = kvprism('run', cfg, '--out', join(dir, 'out'));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('bad.yaml: policies[0].name: unknown policy "snapkvv"; did you mean "snapkv"?');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
