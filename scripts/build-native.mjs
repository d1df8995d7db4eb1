// npm `install` script: builds the native addon (build/Release/kvprism.node) with cmake-js.
// Never fails the install: on ANY problem (no compiler, no cmake, a compile error) it prints
// one line and exits 0, and kvprism runs on the TypeScript backend.
// Flags: --force (rebuild from scratch), --verbose (stream the build output).
// Env: KVPRISM_CUDA=1 also builds the CUDA kernels (needs nvcc); KVPRISM_SKIP_NATIVE=1 skips.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const verbose = args.includes('--verbose');
const logPath = join(root, 'build', 'native-build.log');

function done(line) {
  console.log(`[kvprism] ${line}`);
  process.exit(0);
}

try {
  if (process.env.KVPRISM_SKIP_NATIVE === '1') done('native addon: skipped (KVPRISM_SKIP_NATIVE=1); using the TypeScript backend');
  const require = createRequire(import.meta.url);
  let cmakeJs;
  try {
    cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  } catch {
    done('native addon: not built (cmake-js is not installed); using the TypeScript backend');
  }
  const probe = spawnSync('cmake', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) done('native addon: not built (cmake not found); using the TypeScript backend');
  if (args.includes('--force')) rmSync(join(root, 'build'), { recursive: true, force: true });
  mkdirSync(join(root, 'build'), { recursive: true });
  const cuda = process.env.KVPRISM_CUDA === '1';
  const cmd = [
    cmakeJs,
    'compile',
    '--directory', root,
    '--config', 'Release',
    '--CDCMAKE_BUILD_TYPE=Release',
    `--CDKVPRISM_CUDA=${cuda ? 'ON' : 'OFF'}`,
    '--parallel', String(Math.max(1, Math.min(4, (await import('node:os')).availableParallelism()))),
    '--log-level', verbose ? 'info' : 'error',
  ];
  const t0 = Date.now();
  const res = spawnSync(process.execPath, cmd, {
    cwd: root,
    encoding: 'utf8',
    stdio: verbose ? 'inherit' : 'pipe',
    env: { ...process.env, npm_config_build_from_source: 'true' },
    timeout: 600_000,
  });
  if (!verbose) writeFileSync(logPath, `${res.stdout ?? ''}\n${res.stderr ?? ''}`);
  if (res.error || res.status !== 0) {
    const why = res.error ? res.error.message : `exit ${res.status}`;
    done(`native addon: build failed (${why}; log: ${verbose ? 'above' : logPath}); using the TypeScript backend`);
  }
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  done(`native addon: built build/Release/kvprism.node in ${secs} s${cuda ? ' (with CUDA)' : ''}`);
} catch (err) {
  done(`native addon: not built (${err instanceof Error ? err.message : String(err)}); using the TypeScript backend`);
}
