/** `kvprism policies`: the catalogue as the CLI prints it. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describePolicies, formatPolicies } from '../../src/cli/commands/policies.js';
import { policies } from '../../src/policies/catalog.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, encoding: 'utf8' });

describe('kvprism policies', () => {
  it('describes every option with its type, default and doc', () => {
    const infos = describePolicies(policies.list());
    expect(infos.map((p) => p.name)).toEqual(policies.names());
    const snap = infos.find((p) => p.name === 'snapkv')!;
    expect(snap.paper?.arxiv).toBe('2404.14469');
    expect(snap.options).toEqual([
      { name: 'window', type: 'integer ≥ 1', default: 32, description: expect.stringMatching(/observation window/) },
      { name: 'kernel', type: 'integer ≥ 1', default: 5, description: expect.stringMatching(/pooling kernel/) },
      { name: 'pooling', type: 'avg | max', default: 'avg', description: expect.any(String) },
    ]);
    expect(formatPolicies([snap])).toMatch(/^snapkv {2}\[eviction\] {2}SnapKV — SnapKV: .*\n.*\n {4}window \(integer ≥ 1, default 32\)/);
  });
  it('prints JSON through the real CLI and names the nearest policy for a typo', () => {
    const ok = cli('policies', '--json');
    expect(ok.status).toBe(0);
    const parsed = JSON.parse(ok.stdout) as { name: string; options: unknown[] }[];
    expect(parsed.map((p) => p.name)).toContain('look-m');
    const bad = cli('policies', '--name', 'snapvk');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/unknown policy "snapvk"; did you mean "snapkv"\?/);
  }, 60_000);
});

describe('kvprism policies traits', () => {
  it('lists query-agnostic / attention-free from the policy itself', () => {
    const [keydiff, snap] = describePolicies([policies.get('keydiff'), policies.get('snapkv')]);
    expect(keydiff!.traits).toEqual({ queryAgnostic: true, attentionFree: true, secondPass: false, calibration: false });
    expect(snap!.traits).toEqual({ queryAgnostic: false, attentionFree: false, secondPass: false, calibration: false });
    const text = formatPolicies([keydiff!, snap!]);
    expect(text).toMatch(/^keydiff {2}\[eviction\] {2}KeyDiff — .*\(arXiv 2504\.15364\) {2}\{query-agnostic, attention-free\}$/m);
    expect(text).toMatch(/^snapkv .*NeurIPS 2024$/m);
  });
});
