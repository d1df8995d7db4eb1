/**
 * DIR/run_meta.json: what a result depends on besides its config — code version (git
 * commit, dirty flag), runtime versions, CPU, threads and the backend that actually ran.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem, platform, arch, release, hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ThreadChoice } from '../model/decode-threads.js';
import type { ThreadsSetting } from './config-schema.js';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface RunMeta {
  kvprism: string;
  git: { commit: string | null; dirty: boolean | null };
  node: string;
  versions: Record<string, string>;
  os: { platform: string; arch: string; release: string; hostname: string };
  cpu: { model: string; cores: number; memoryBytes: number };
  /**
   * Native threads the run used: the count `threads: auto` chose, else the config's (0 = every
   * core; 'auto' only when the executor made no choice, e.g. a custom one).
   */
  threads: ThreadsSetting;
  /** With `threads: auto`: the tok/s measured per thread count and the bound the choice kept. */
  threadChoice?: ThreadChoice;
  backend: string;
  shard: string;
  command: string[];
  startedAt: string;
}

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: packageRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function packageVersion(name: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(packageRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
}

export function collectRunMeta(args: { threads: ThreadsSetting; threadChoice?: ThreadChoice; backend: string; shard: string }): RunMeta {
  const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string };
  const status = git(['status', '--porcelain', '--untracked-files=no']);
  const versions: Record<string, string> = {};
  for (const name of ['onnxruntime-node', 'zod', 'vega', 'vega-lite', '@napi-rs/canvas']) {
    const v = packageVersion(name);
    if (v) versions[name] = v;
  }
  const c = cpus();
  return {
    kvprism: pkg.version,
    git: { commit: git(['rev-parse', 'HEAD']), dirty: status === null ? null : status.length > 0 },
    node: process.version,
    versions: { ...versions, v8: process.versions.v8 },
    os: { platform: platform(), arch: arch(), release: release(), hostname: hostname() },
    cpu: { model: c[0]?.model ?? 'unknown', cores: c.length, memoryBytes: totalmem() },
    threads: args.threadChoice?.chosen ?? args.threads,
    ...(args.threadChoice ? { threadChoice: args.threadChoice } : {}),
    backend: args.backend,
    shard: args.shard,
    command: process.argv.slice(1),
    startedAt: new Date().toISOString(),
  };
}
