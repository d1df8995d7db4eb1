/**
 * Runs the native C++ kernel tests (no Node involved in the kernels) from the suite: the
 * x86-64 build always when cmake and a compiler exist, and the aarch64 build under
 * qemu-aarch64 (NEON paths) when Debian's cross compiler and qemu-user are installed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const nativeDir = fileURLToPath(new URL('../../native', import.meta.url));

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

function buildAndRun(extraConfigure: string[], runner: string[]): string {
  const build = mkdtempSync(join(tmpdir(), 'kvprism-ctest-'));
  execFileSync('cmake', ['-S', nativeDir, '-B', build, '-DCMAKE_BUILD_TYPE=Release', ...extraConfigure], { stdio: 'pipe' });
  execFileSync('cmake', ['--build', build, '-j2', '--target', 'kvprism_tests'], { stdio: 'pipe' });
  const [cmd, ...args] = [...runner, join(build, 'kvprism_tests')];
  const r = spawnSync(cmd!, args, { encoding: 'utf8', timeout: 300_000 });
  const out = `${r.stdout}\n${r.stderr}`;
  expect(r.status, out).toBe(0);
  return out;
}

const canBuild = has('cmake') && has('c++');
const canCross = canBuild && has('aarch64-linux-gnu-g++') && has('qemu-aarch64');

describe('native C++ kernel tests', () => {
  it.skipIf(!canBuild)('x86-64 build: every kernel matches the scalar double-precision reference', () => {
    const out = buildAndRun([], []);
    expect(out).toMatch(/\b\d+ passed, 0 failed\b/);
  }, 600_000);

  it.skipIf(!canCross)('aarch64 build under qemu: NEON paths match the reference', () => {
    const out = buildAndRun([`-DCMAKE_TOOLCHAIN_FILE=${join(nativeDir, 'cmake/aarch64-linux-gnu.cmake')}`], ['qemu-aarch64', '-L', '/usr/aarch64-linux-gnu']);
    expect(out).toMatch(/\b\d+ passed, 0 failed\b/);
    expect(out.toLowerCase()).toContain('neon');
  }, 600_000);
});
