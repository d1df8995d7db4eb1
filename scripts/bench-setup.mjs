#!/usr/bin/env node
/**
 * `npm run bench:setup`: installs llama.cpp for the decode bench into bench/llama-cpp (its own
 * package, so the project's `npm install` never downloads it): node-llama-cpp at the version
 * pinned in bench/llama-cpp/package.json, without its optional dependencies (every platform's
 * and GPU's binaries), plus only this platform's CPU binary package at the same version.
 * Install scripts are skipped: the prebuilt binary needs no build step. Measured on linux-x64:
 * 117 packages, 83 MB, about 15 s.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'bench', 'llama-cpp');
const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
const version = pkg.dependencies?.['node-llama-cpp'];
if (!/^\d+\.\d+\.\d+$/.test(version ?? '')) {
  console.error(`${join(dir, 'package.json')}: dependencies["node-llama-cpp"] must be an exact version (x.y.z); got ${JSON.stringify(version)}`);
  process.exit(1);
}
// node-llama-cpp's prebuilt CPU packages: linux-x64, linux-arm64, linux-armv7l, mac-arm64-metal, mac-x64, win-x64, win-arm64.
const os = { linux: 'linux', darwin: 'mac', win32: 'win' }[process.platform];
const arch = { x64: 'x64', arm64: 'arm64', arm: 'armv7l' }[process.arch];
if (!os || !arch) {
  console.error(`bench:setup: node-llama-cpp ships no prebuilt binary for ${process.platform}-${process.arch}; the decode bench will print kvprism's rows only`);
  process.exit(1);
}
const binary = `@node-llama-cpp/${os}-${arch}${os === 'mac' && arch === 'arm64' ? '-metal' : ''}@${version}`;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const args = ['install', '--omit=optional', '--ignore-scripts', '--no-audit', '--no-fund', '--no-save', '--no-package-lock', binary];
console.log(`bench:setup: in ${dir}: npm ${args.join(' ')}`);
const r = spawnSync(npm, args, { cwd: dir, stdio: 'inherit' });
if (r.status !== 0) {
  console.error(`bench:setup: npm install failed (exit ${r.status ?? r.signal}); the decode bench will print kvprism's rows only until it succeeds`);
  process.exit(1);
}
console.log(`bench:setup: node-llama-cpp ${version} with ${binary} installed; \`npm run bench -- decode\` now measures llama.cpp side by side`);
